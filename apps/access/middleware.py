"""One consistent access version per request: its decisions read the version from Redis once, not each time."""

from .selectors import version_snapshot


class AccessVersionSnapshotMiddleware:
    """A request sees access as it was when it first asked (a change it makes itself is seen at once)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with version_snapshot():
            return self.get_response(request)
