"""Rate limits for the API (DRF throttles), each rate read from settings when a request comes in.

- ``anon``: requests from one address without a login (``DJANGO_THROTTLE_ANON``);
- ``user``: requests from one logged-in user or token (``DJANGO_THROTTLE_USER``);
- ``bad_token``: failed token attempts from one address (``DJANGO_THROTTLE_BAD_TOKEN``): past it, every token
  from that address is refused with a 429, right or wrong, until the window has passed;
- ``anon_expensive`` and ``user_expensive``: the requests that read the whole data set (an export, the consistency
  report of every company), per address or per user (``DJANGO_THROTTLE_ANON_EXPENSIVE``,
  ``DJANGO_THROTTLE_USER_EXPENSIVE``), counted on top of ``anon`` or ``user`` (``ExpensiveRateThrottle``).

Over a limit, the answer is a JSON 429 with ``Retry-After`` (seconds). Counts live in Django's cache (``CACHES``):
per process with the default in-memory cache, shared between processes with ``DJANGO_CACHE_DIR``. The client's
address is ``REMOTE_ADDR``, or with ``DJANGO_NUM_PROXIES`` the address that many proxies back in
``X-Forwarded-For``.
"""

from rest_framework import authentication, throttling
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.settings import api_settings


class RateFromSettings:
    """DRF reads the rates once, when the throttle class is defined; these read them per request, so that a change
    of settings (in a test) applies."""

    scope: str

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonRateThrottle(RateFromSettings, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(RateFromSettings, throttling.UserRateThrottle):
    pass


class ExpensiveRateThrottle(RateFromSettings, throttling.SimpleRateThrottle):
    """A second, lower limit for the requests that cost seconds of a worker and of the database instead of
    milliseconds. At 100,000 articles an export of the 200,000 figures streams for 5-6 s, and the consistency report
    of every company reads 100,000 figures into Python (1.1 s). Within ``anon``'s 120 a minute, one address could
    otherwise keep every gunicorn worker busy with them.

    A view names its expensive requests with ``expensive(request) -> bool``; other requests pass untouched. Anonymous
    clients count per address (``anon_expensive``), logged-in users and tokens per user (``user_expensive``). When a
    request is refused, ``throttled_because`` on the request says which limit it met; the API's exception handler puts
    it in the 429's ``detail``."""

    scope = "anon_expensive"

    def allow_request(self, request, view) -> bool:
        expensive = getattr(view, "expensive", None)
        if expensive is None or not expensive(request):
            return True
        user = request.user is not None and request.user.is_authenticated
        self.scope = "user_expensive" if user else "anon_expensive"
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if super().allow_request(request, view):
            return True
        request.throttled_because = (
            "Request was throttled: exports (format=csv, format=jsonl) and the consistency report of every company "
            f"read the whole data set, and take at most {self.rate} for each {'user' if user else 'address'}."
        )
        return False

    def get_cache_key(self, request, view) -> str:
        ident = request.user.pk if self.scope == "user_expensive" else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class BadTokenThrottle(RateFromSettings, throttling.SimpleRateThrottle):
    """Counts failed token attempts per address; only failures are recorded."""

    scope = "bad_token"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request, view=None) -> bool:
        """Whether the address is still under the limit (nothing is recorded)."""
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return len(self.history) < self.num_requests

    def record_failure(self) -> None:
        if self.rate is None:
            return
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication, with failed attempts throttled per address (``bad_token``)."""

    def authenticate(self, request):
        if not authentication.get_authorization_header(request):
            return None
        guard = BadTokenThrottle()
        if not guard.allow_request(request):
            raise Throttled(wait=guard.wait(), detail="Too many failed token attempts from this address.")
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            guard.record_failure()
            raise


def client_ip(request) -> str:
    """The client's address as the throttles count it; django-axes counts failed logins by it too
    (``AXES_CLIENT_IP_CALLABLE``)."""
    return throttling.BaseThrottle().get_ident(request)
