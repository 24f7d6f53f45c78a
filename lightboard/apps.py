from django.apps import AppConfig


class LightboardConfig(AppConfig):
    name = "lightboard"
