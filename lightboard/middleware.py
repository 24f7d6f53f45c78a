class ChineseByDefaultMiddleware:
    """Make Simplified Chinese the default whatever language the browser asks for.

    Django's LocaleMiddleware falls back to the browser's Accept-Language header
    before LANGUAGE_CODE. lightboard's users work in Chinese even on browsers set
    up in English, so only an explicit choice (the language switcher's cookie)
    changes the interface language. Place before LocaleMiddleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
