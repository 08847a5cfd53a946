"""The digest beat task for real: send_digests on a Celery worker over Redis fans out
one task per user, and the email arrives through Django's file-based email backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from governance.alerts.models import Digest, DigestItem, Follow
from governance.tasks import send_digests
from tests import factories
from tests.ingest.test_jobs import wait_until
from tests.ingest.worker import Worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.jobs]

SITE = "https://tracker.example.org"


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    path = tmp_path / "mail"
    path.mkdir()
    return path


@pytest.fixture
def worker(tmp_path: Path, mail_dir: Path) -> Iterator[Worker]:
    started = Worker(
        tmp_path,
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(mail_dir),
        SITE_URL=SITE,
    ).start()
    yield started
    started.stop()


def test_the_beat_task_sends_each_user_their_digest_once(worker: Worker, mail_dir: Path) -> None:
    analyst = User.objects.create_user("ana", "ana@example.org", "a long pass phrase 1")
    proposal = factories.ProposalFactory(title="Global AI Cooperation Organization")
    Follow.objects.create(user=analyst, proposal=proposal)
    news = factories.StatementFactory(text="We support the new organization.")
    news.proposals.add(proposal)

    assert send_digests.delay(frequency="daily") is not None
    wait_until(lambda: Digest.objects.exists(), timeout=60, what="the digest to be recorded")
    wait_until(lambda: any(mail_dir.iterdir()), timeout=10, what="the email file")
    [sent] = [p.read_text() for p in mail_dir.iterdir()]
    assert "To: ana@example.org" in sent
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in sent
    assert f"List-Unsubscribe: <{SITE}/unsubscribe/" in sent
    assert "We support the new organization." in sent
    assert f"{SITE}/statements/{news.pk}/" in sent
    assert list(DigestItem.objects.values_list("kind", "object_id")) == [("statement", news.pk)]

    # A second run (a retry, or the next day's) finds nothing new and sends nothing.
    send_digests.delay(frequency="daily")
    wait_until(
        lambda: "'outcome': 'nothing new'" in worker.log(), timeout=60, what="the second run"
    )
    assert len(list(mail_dir.iterdir())) == 1 and Digest.objects.count() == 1
