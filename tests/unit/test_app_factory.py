from app import AdServer


def view():
    return "ok"


def test_a_plain_view_or_hook_is_checked_once_and_returned_as_is():
    app = AdServer(__name__)
    assert app.ensure_sync(view) is view
    assert app.ensure_sync(view) is view  # remembered: no second check
    assert app._synchronous == {view}


def test_nested_functions_are_not_remembered():
    """`after_this_request` hands Flask a closure made by the request."""
    app = AdServer(__name__)
    for _ in range(3):

        def hook(response):
            return response

        assert app.ensure_sync(hook) is hook
    assert app._synchronous == set()


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

    try:
        wrapped = app.ensure_sync(view)
    except RuntimeError as exc:  # Flask refuses async views without its `async` extra
        assert "async" in str(exc)
    else:  # with it, Flask wraps the view to run it to completion
        assert wrapped is not view
    assert app._synchronous == set()
