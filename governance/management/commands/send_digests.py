"""Send the daily or weekly digests now, in this process (beat does it on schedule).

With the default console email backend the emails are printed here.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from governance.alerts.digests import Outcome, send_user_digest, users_to_digest
from governance.alerts.models import Frequency


class Command(BaseCommand):
    help = "Send every user's digest of the given frequency now (what the beat task does)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("frequency", choices=Frequency.values)

    def handle(self, *args: Any, frequency: str, **options: Any) -> None:
        counts = dict.fromkeys(Outcome, 0)
        for user_id in users_to_digest(frequency):
            counts[send_user_digest(user_id, frequency)] += 1
        summary = ", ".join(f"{n} {outcome}" for outcome, n in counts.items())
        self.stderr.write(f"{frequency} digests: {summary}")
