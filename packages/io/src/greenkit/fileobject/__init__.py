"""File objects that cooperate with the hub (gevent's ``gevent.fileobject``).

* :class:`FileObjectPosix` -- non-blocking descriptor; a read or write that
  would block parks only the calling greenlet.  Good for pipes, sockets and
  terminals.  This is the default, :data:`FileObject`.
* :class:`FileObjectThread` -- each blocking call runs in the hub's thread
  pool (needs greenkit-threads); works for anything, including regular
  files on slow disks.
* :class:`FileObjectBlock` -- plain blocking calls, same interface.

All take ``io.open``'s arguments (``mode``, ``buffering``/``bufsize``,
``encoding``, ``errors``, ``newline``, ``closefd``/``close``) and a file
descriptor, a path or an existing file object.
"""

from greenkit._fileobjectcommon import FileObjectBlock, FileObjectThread
from greenkit._fileobjectposix import FileObjectPosix

__all__ = ["FileObject", "FileObjectBlock", "FileObjectPosix", "FileObjectThread"]

#: The default file object class: :class:`FileObjectPosix`.
FileObject = FileObjectPosix
