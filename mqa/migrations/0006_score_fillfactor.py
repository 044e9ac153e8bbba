"""Leave room in score pages so that rewriting a score whose status did not change can be a
HOT update (no index churn) — the full rescore rewrites every row. PostgreSQL only."""

from django.db import migrations

TABLES = ("mqa_contactscore", "mqa_accountscore")


def set_fillfactor(apps, schema_editor, value=70):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {int(value)})")


def reset_fillfactor(apps, schema_editor):
    set_fillfactor(apps, schema_editor, 100)


class Migration(migrations.Migration):
    dependencies = [("mqa", "0005_scoring_model_audit")]
    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
