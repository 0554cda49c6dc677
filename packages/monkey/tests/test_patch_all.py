"""patch_all's orchestration: order, events, plugins' vetoes, repeated calls,
warnings.  Each scenario runs in a child interpreter whose greenkit mirror
modules are stand-ins patching stand-in targets (through ``__target__``), so
the real standard library is never touched and only the orchestration is
under test."""

from __future__ import annotations

from greenkit_testing import run_python

#: Installs stand-ins for every mirror patch_all uses; each records the
#: target it was asked to patch in ORDER.
PRELUDE = """
import sys, types
ORDER = []
MIRRORS = ["os", "time", "thread", "threading", "socket", "select", "selectors",
           "ssl", "subprocess", "signal", "queue"]
for name in MIRRORS:
    target = types.ModuleType("fake_" + name)
    target.thing = "original " + name
    target.epoll = target.EpollSelector = "native"
    sys.modules[target.__name__] = target
    mirror = types.ModuleType("greenkit." + name)
    mirror.__target__ = target.__name__
    mirror.__implements__ = ["thing"]
    mirror.thing = "green " + name
    mirror.__dns__ = ["thing"]
    mirror._gevent_will_monkey_patch = (
        lambda target, items, warn, **kw: ORDER.append(target.__name__[5:]))
    sys.modules[mirror.__name__] = mirror
from greenkit import events, monkey
SEEN = []
events.subscribers.append(SEEN.append)
def module_events():
    return [(type(e).__name__[6:-16], e.module_name[5:]) for e in SEEN
            if isinstance(e, (events.GeventWillPatchModuleEvent,
                              events.GeventDidPatchModuleEvent))]
def green_ssl():
    # The stand-in greenkit.ssl patches the real ssl's SSLContext.
    import ssl
    mirror = sys.modules['greenkit.ssl']
    mirror.__implements__ = ['SSLContext']
    mirror.__target__ = 'ssl'
    mirror.SSLContext = type('SSLContext', (ssl.SSLContext,), {'__module__': 'greenkit.ssl'})
"""


def run_child(code: str) -> tuple[list[str], str]:
    """Run PRELUDE + ``code`` in a new interpreter; return (stdout lines, stderr)."""
    done = run_python(code, prelude=PRELUDE)
    return done.stdout.splitlines(), done.stderr


def test_order_and_events() -> None:
    out, _ = run_child("""
        print(monkey.patch_all(extra=42))
        print(ORDER)
        print([type(e).__name__ for e in SEEN if not isinstance(e, (
            events.GeventWillPatchModuleEvent, events.GeventDidPatchModuleEvent))])
        print(SEEN[0].patch_all_kwargs, SEEN[0].patch_all_arguments['sys'])
        print(SEEN[0].will_patch_module('ssl'), SEEN[0].will_patch_module('sys'))
        print(module_events()[:4])
        print(sys.modules['fake_os'].thing, sys.modules['fake_os'].epoll)
        print(hasattr(sys.modules['fake_select'], 'epoll'),
              hasattr(sys.modules['fake_selectors'], 'EpollSelector'))
        print(monkey.get_original('fake_select', 'epoll'))
        import threading
        print(threading.Event.__module__, monkey.is_object_patched('threading', 'Event'))
    """)
    assert out == [
        "True",
        "['os', 'time', 'thread', 'threading', 'socket', 'select', 'selectors', 'ssl', "
        "'subprocess', 'signal', 'queue']",
        "['GeventWillPatchAllEvent', 'GeventDidPatchBuiltinModulesEvent', "
        "'GeventDidPatchAllEvent']",
        "{'extra': 42} False",
        "True False",
        "[('Will', 'os'), ('Did', 'os'), ('Will', 'time'), ('Did', 'time')]",
        "green os native",
        "False False",
        "native",
        "greenkit.event True",
    ]


def test_arguments_leave_modules_out() -> None:
    out, _ = run_child("""
        monkey.patch_all(thread=False, select=False, socket=False, os=False, ssl=False,
                         subprocess=False, signal=False, Event=False)
        print(ORDER)
        import threading
        print(monkey.is_module_patched('threading'))
    """)
    assert out == ["['time', 'queue']", "False"]


def test_select_not_aggressive_keeps_epoll() -> None:
    out, _ = run_child("""
        monkey.patch_all(aggressive=False)
        print(sys.modules['fake_select'].epoll, sys.modules['fake_selectors'].EpollSelector)
    """)
    assert out == ["native native"]


def test_dns_false_leaves_dns_names() -> None:
    out, _ = run_child("""
        monkey.patch_all(dns=False)
        print(sys.modules['fake_socket'].thing)
        monkey.patch_dns()
        print(sys.modules['fake_socket'].thing)
    """)
    assert out == ["original socket", "green socket"]


def test_veto_one_module() -> None:
    out, _ = run_child("""
        def veto(event):
            if isinstance(event, events.GeventWillPatchModuleEvent) and \\
                    event.module_name == 'fake_ssl':
                raise events.DoNotPatch
        events.subscribers.insert(0, veto)
        print(monkey.patch_all())
        print(sys.modules['fake_ssl'].thing, sys.modules['fake_queue'].thing)
        print(monkey.is_module_patched('fake_ssl'), ('Did', 'ssl') in module_events())
    """)
    assert out == ["True", "original ssl green queue", "False False"]


def test_veto_everything() -> None:
    out, _ = run_child("""
        def veto(event):
            if isinstance(event, events.GeventWillPatchAllEvent):
                raise events.DoNotPatch
        events.subscribers.insert(0, veto)
        print(monkey.patch_all(), ORDER, monkey.is_anything_patched())
        events.subscribers.remove(veto)
        print(monkey.patch_all(), len(ORDER), monkey.is_anything_patched())
    """)
    assert out == ["False [] False", "True 11 True"]


def test_patching_twice() -> None:
    out, err = run_child("""
        import warnings
        monkey.patch_all(socket=False)
        del SEEN[:], ORDER[:]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            print(monkey.patch_all(socket=False))     # the same again: nothing
            print(len(caught), SEEN, ORDER)
            print(monkey.patch_all(os=False, socket=False))  # turns nothing on
            print([str(w.message) for w in caught], SEEN, ORDER)
            del caught[:]
            monkey.patch_all()                        # turns socket on
            print(len(caught), ORDER, module_events())
            print(monkey.saved[monkey._PATCH_ALL_SETTINGS]['socket'])
    """)
    assert out == [
        "True",
        "0 [] []",
        "True",
        "['Patching more than once will result in the union of all True parameters "
        "being patched'] [] []",
        "1 ['socket'] [('Will', 'socket'), ('Did', 'socket')]",
        "True",
    ]


def test_late_ssl_warning() -> None:
    out, _ = run_child("""
        import ssl, warnings
        from ssl import SSLContext
        class Mine(ssl.SSLContext):
            pass
        green_ssl()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            monkey.patch_all()
            monkey.patch_all()
        messages = [str(w.message) for w in caught
                    if issubclass(w.category, monkey.MonkeyPatchWarning)]
        print(len(messages))
        print("Modules that had direct imports (NOT patched): ['__main__']" in messages[0])
        print("Subclasses (NOT patched): ['__main__.Mine']" in messages[0])
    """)
    assert out == ["1", "True", "True"]


def test_no_ssl_warning_without_escaped_references() -> None:
    out, _ = run_child("""
        import ssl, warnings
        green_ssl()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            monkey.patch_all()
        print([str(w.message) for w in caught])
    """)
    assert out == ["[]"]


def test_plugin_can_patch_more_after_builtins() -> None:
    out, _ = run_child("""
        def plugin(event):
            if isinstance(event, events.GeventDidPatchBuiltinModulesEvent):
                print('plugin sees', sys.modules['fake_queue'].thing,
                      event.patch_all_kwargs)
        events.subscribers.append(plugin)
        monkey.patch_all(mine=1)
    """)
    assert out == ["plugin sees green queue {'mine': 1}"]


def test_selector_classes_use_the_patched_select() -> None:
    out, _ = run_child("""
        fake_select, fake_selectors = sys.modules['fake_select'], sys.modules['fake_selectors']
        fake_select.select = lambda *args: ('native select', args)
        fake_select.poll = 'native poll'
        green = sys.modules['greenkit.select']
        green.__implements__ = ['select', 'poll']
        green.select = lambda *args: ('green select', args)
        green.poll = 'green poll'
        class SelectSelector:
            _select = fake_select.select
            def select(self):
                return self._select([1], [], [], 0)
        class PollSelector:
            _selector_cls = fake_select.poll
        SelectSelector.__module__ = PollSelector.__module__ = 'fake_selectors'
        fake_selectors.SelectSelector = SelectSelector
        fake_selectors.PollSelector = PollSelector
        original = SelectSelector.__dict__['_select']
        monkey.patch_select()
        print(SelectSelector().select())
        print(SelectSelector._select._gevent_monkey, PollSelector._selector_cls)
        print(monkey.get_original('fake_selectors.SelectSelector', '_select') is original)
        print(monkey.get_original('fake_selectors.PollSelector', '_selector_cls'))
    """)
    assert out == ["('green select', ([1], [], [], 0))", "True green poll", "True", "native poll"]


def test_late_ssl_warning_only_the_first_time() -> None:
    out, _ = run_child("""
        import ssl, warnings
        from ssl import SSLContext
        green_ssl()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            monkey.patch_ssl()
            from ssl import SSLContext    # the patched one, now
            monkey.patch_ssl()
        print(len(caught), caught[0].category.__name__)
    """)
    assert out == ["1 MonkeyPatchWarning"]
