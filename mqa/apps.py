from django.apps import AppConfig


class MqaConfig(AppConfig):
    name = "mqa"
    verbose_name = "MQL / MQA scoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models import Field

        # Register the Celery tasks that `mqa.dispatch` sends by name, in every process.
        from mqa import tasks  # noqa: F401
        from mqa.models.lookups import AnyOf

        # `field__any=[...]` on every field: ingest's batch-sized membership tests.
        Field.register_lookup(AnyOf)
