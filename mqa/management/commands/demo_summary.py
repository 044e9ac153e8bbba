"""`manage.py demo_summary`: who is ready for sales, and what the near-misses lack."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from mqa.selectors import qualification_summary_get


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{status} {n}" for status, n in counts.items()) or "none yet"


class Command(BaseCommand):
    help = "Print MQAs with committee coverage, near-miss target accounts, and MQL counts."

    def handle(self, *args: Any, **options: Any) -> None:
        summary = qualification_summary_get()
        w = self.stdout.write
        w(f"Contacts by status: {_counts(summary['contacts'])}")
        w(f"Accounts by status: {_counts(summary['accounts'])}")
        w(f"Target accounts:    {_counts(summary['target_accounts'])}")
        w("")
        w(f"MQAs ({summary['mqa_total']}), with buying-committee coverage:")
        for row in summary["mqas"]:
            target = "target" if row["is_target"] else "      "
            w(
                f"  {row['domain']:<28} {target} engagement {row['engagement']:>7.2f}  "
                f"{row['engaged_contacts']} engaged: {', '.join(row['roles_covered'])}"
            )
        w("")
        w(f"Target accounts one criterion short of MQA ({summary['near_miss_total']}):")
        for row in summary["near_misses"]:
            need = f"{row['criterion']}: has {row['actual']}, needs {row['required']}"
            w(f"  {row['domain']:<28} {need}")
