"""Requests per user (or per address when anonymous), counted in Redis so that every web worker
shares one count. Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]."""

from django.core.cache import caches
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

THROTTLE_CACHE = "throttle"


class _SharedCount:
    @property
    def cache(self):
        return caches[THROTTLE_CACHE]

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]


class UserThrottle(_SharedCount, UserRateThrottle):
    scope = "user"


class AnonymousThrottle(_SharedCount, AnonRateThrottle):
    scope = "anonymous"
