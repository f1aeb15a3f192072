import pytest

from app import AdServer


def test_a_plain_view_or_hook_is_checked_once_and_returned_as_is():
    app = AdServer(__name__)

    def view():
        return "ok"

    assert app.ensure_sync(view) is view
    assert app.ensure_sync(view) is view  # remembered: no second check
    assert app._synchronous == {view}


def test_bound_methods_are_not_remembered():
    """Class-based views hand Flask a method of a new instance on every request."""
    app = AdServer(__name__)

    class View:
        def dispatch(self):
            return "ok"

    for _ in range(3):
        method = View().dispatch
        assert app.ensure_sync(method) == method
    assert app._synchronous == set()


def test_an_async_view_still_goes_to_flask():
    app = AdServer(__name__)

    async def view():
        return "ok"

    # Flask wraps it to run it to completion, and refuses without its `async` extra (not installed here).
    with pytest.raises(RuntimeError, match="async"):
        app.ensure_sync(view)
    assert app._synchronous == set()
