from django.apps import AppConfig


class MqaConfig(AppConfig):
    name = "mqa"
    verbose_name = "MQL / MQA scoring"
    default_auto_field = "django.db.models.BigAutoField"
