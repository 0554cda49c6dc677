"""Code written for gevent, run on greenkit: GREENKIT_AS_GEVENT=1 python gevent_alias.py"""

import gevent
import gevent.hub

import greenkit
import greenkit.hub

print("gevent", gevent.__version__, "is greenkit:", gevent.hub is greenkit.hub)
print("gevent.spawn is greenkit.spawn:", gevent.spawn is greenkit.spawn)
