"""Quotation hygiene and dates inherited from events.

- `Statement.quoted`: a partial quote's quoted runs. Existing rows are filed honestly:
  a partial quote whose text is verbatim in its evidence quotes all of it; a paraphrase
  whose text put quotation marks around words of its evidence becomes a partial quote
  with those words as runs and the marks taken out of its text (marks around words the
  evidence does not have are taken out, and it stays a paraphrase); a direct quote that is
  verbatim in its evidence but for a final full stop loses the stop.
- `date_start`/`date_end` on statements and participation rows: the own date, or the
  event's dates for an undated row at a dated event. Triggers keep them, on insert and
  update of the row and when an event's dates change, so that COPY, bulk updates and the
  admin cannot leave them stale; backfilled here before the indexes are built.
"""

from __future__ import annotations

from typing import Any

import django.contrib.postgres.fields
from django.db import migrations, models

from governance import quotation

BACKFILL_DATES = """
UPDATE governance_statement SET date_start = said_on, date_end = said_on
 WHERE said_on IS NOT NULL;
UPDATE governance_statement s
   SET date_start = e.start_date, date_end = coalesce(e.end_date, e.start_date)
  FROM governance_event e
 WHERE s.said_on IS NULL AND s.event_id = e.id AND e.start_date IS NOT NULL;
UPDATE governance_participation SET date_start = date, date_end = date
 WHERE date IS NOT NULL;
UPDATE governance_participation p
   SET date_start = e.start_date, date_end = coalesce(e.end_date, e.start_date)
  FROM governance_event e
 WHERE p.date IS NULL AND p.event_id = e.id AND e.start_date IS NOT NULL;
"""

# One function per table (the own-date column differs); the event trigger rewrites only
# the undated rows of the event whose dates changed, through their own trigger.
DATE_TRIGGERS = """
CREATE FUNCTION governance_statement_dates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.said_on IS NOT NULL THEN
    NEW.date_start := NEW.said_on;
    NEW.date_end := NEW.said_on;
  ELSE
    NEW.date_start := NULL;
    NEW.date_end := NULL;
    IF NEW.event_id IS NOT NULL THEN
      SELECT e.start_date, coalesce(e.end_date, e.start_date)
        INTO NEW.date_start, NEW.date_end
        FROM governance_event e WHERE e.id = NEW.event_id;
    END IF;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER statement_dates
  BEFORE INSERT OR UPDATE OF said_on, event_id, date_start, date_end ON governance_statement
  FOR EACH ROW EXECUTE FUNCTION governance_statement_dates();

CREATE FUNCTION governance_participation_dates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.date IS NOT NULL THEN
    NEW.date_start := NEW.date;
    NEW.date_end := NEW.date;
  ELSE
    NEW.date_start := NULL;
    NEW.date_end := NULL;
    IF NEW.event_id IS NOT NULL THEN
      SELECT e.start_date, coalesce(e.end_date, e.start_date)
        INTO NEW.date_start, NEW.date_end
        FROM governance_event e WHERE e.id = NEW.event_id;
    END IF;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER participation_dates
  BEFORE INSERT OR UPDATE OF date, event_id, date_start, date_end ON governance_participation
  FOR EACH ROW EXECUTE FUNCTION governance_participation_dates();

CREATE FUNCTION governance_event_dates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE governance_statement SET date_start = NULL
   WHERE event_id = NEW.id AND said_on IS NULL;
  UPDATE governance_participation SET date_start = NULL
   WHERE event_id = NEW.id AND date IS NULL;
  RETURN NULL;
END $$;
CREATE TRIGGER event_dates
  AFTER UPDATE OF start_date, end_date ON governance_event
  FOR EACH ROW
  WHEN (OLD.start_date IS DISTINCT FROM NEW.start_date OR OLD.end_date IS DISTINCT FROM NEW.end_date)
  EXECUTE FUNCTION governance_event_dates();
"""

DROP_DATE_TRIGGERS = """
DROP TRIGGER event_dates ON governance_event;
DROP FUNCTION governance_event_dates();
DROP TRIGGER participation_dates ON governance_participation;
DROP FUNCTION governance_participation_dates();
DROP TRIGGER statement_dates ON governance_statement;
DROP FUNCTION governance_statement_dates();
"""

MARKS = f"[{quotation.QUOTE_MARKS}]"


def file_quotes_honestly(apps: Any, schema_editor: Any) -> None:
    Statement = apps.get_model("governance", "Statement")
    Evidence = apps.get_model("governance", "Evidence")
    ContentType = apps.get_model("contenttypes", "ContentType")
    content_type = ContentType.objects.filter(app_label="governance", model="statement").first()
    if content_type is None:
        return
    with schema_editor.connection.cursor() as cursor:
        # Partial quotes filed by extraction hold only the quoted words: all of it is quoted.
        cursor.execute(
            """
            UPDATE governance_statement s SET quoted = ARRAY[s.text]
             WHERE s.kind = 'partial_quote' AND cardinality(s.quoted) = 0
               AND EXISTS (SELECT 1 FROM governance_evidence ev
                            WHERE ev.content_type_id = %s AND ev.object_id = s.id::text
                              AND strpos(ev.excerpt, s.text) > 0)
            """,
            [content_type.pk],
        )

    def excerpts(statement: Any) -> list[str]:
        return list(
            Evidence.objects.filter(
                content_type=content_type, object_id=str(statement.pk)
            ).values_list("excerpt", flat=True)
        )

    def refile(statement: Any) -> None:
        statement.fingerprint = make_fingerprint(statement)
        if not Statement.objects.filter(fingerprint=statement.fingerprint).exists():
            statement.save(update_fields=["kind", "text", "quoted", "fingerprint"])

    for statement in Statement.objects.filter(kind__in=["paraphrase", "remarks"], text__regex=MARKS):
        text, runs = quotation.split_marked(statement.text)
        try:
            quotation.check("partial_quote", text, runs, excerpts(statement))
        except quotation.QuotationError:
            # Marks around words the evidence does not have: they go, it stays a paraphrase.
            statement.text = text
        else:
            statement.kind, statement.text, statement.quoted = "partial_quote", text, runs
        refile(statement)
    candidates = Statement.objects.filter(kind="direct_quote", text__regex=r"[.,]$")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT s.id FROM governance_statement s
             WHERE s.kind = 'direct_quote' AND s.text ~ '[.,]$'
               AND NOT EXISTS (SELECT 1 FROM governance_evidence ev
                                WHERE ev.content_type_id = %s AND ev.object_id = s.id::text
                                  AND strpos(ev.excerpt, s.text) > 0)
            """,
            [content_type.pk],
        )
        ids = [row[0] for row in cursor.fetchall()]
    for statement in candidates.filter(pk__in=ids):
        text = statement.text[:-1]
        if any(text in e for e in excerpts(statement)):
            statement.text = text
            refile(statement)


def make_fingerprint(statement: Any) -> str:
    """Statement.make_fingerprint as of this migration (historical models have no methods)."""
    import hashlib

    normalized = " ".join(statement.text.split()).casefold()
    key = f"{statement.speaker_id or ''}|{statement.said_on or ''}|{statement.kind}|{normalized}"
    return hashlib.sha256(key.encode()).hexdigest()


class Migration(migrations.Migration):

    dependencies = [
        ('governance', '0018_search_text_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalstatement',
            name='quoted',
            field=django.contrib.postgres.fields.ArrayField(base_field=models.TextField(), blank=True, db_default=models.Value([], output_field=django.contrib.postgres.fields.ArrayField(base_field=models.TextField())), default=list, help_text='A partial quote: the words of the text that are quoted, one per line'),
        ),
        migrations.AddField(
            model_name='participation',
            name='date_end',
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='participation',
            name='date_start',
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='statement',
            name='date_end',
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='statement',
            name='date_start',
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='statement',
            name='quoted',
            field=django.contrib.postgres.fields.ArrayField(base_field=models.TextField(), blank=True, db_default=models.Value([], output_field=django.contrib.postgres.fields.ArrayField(base_field=models.TextField())), default=list, help_text='A partial quote: the words of the text that are quoted, one per line'),
        ),
        migrations.AlterField(
            model_name='historicalstatement',
            name='text',
            field=models.TextField(help_text='A direct quote: the words, verbatim. A partial quote: reported speech holding the quoted words. Otherwise what was said. Never with quotation marks the source does not have.'),
        ),
        migrations.AlterField(
            model_name='statement',
            name='text',
            field=models.TextField(help_text='A direct quote: the words, verbatim. A partial quote: reported speech holding the quoted words. Otherwise what was said. Never with quotation marks the source does not have.'),
        ),
        migrations.RunSQL(BACKFILL_DATES, migrations.RunSQL.noop),
        migrations.RunSQL(DATE_TRIGGERS, DROP_DATE_TRIGGERS),
        migrations.RunPython(file_quotes_honestly, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='statement',
            index=models.Index(fields=['date_start'], name='statement_date_start'),
        ),
        migrations.AddIndex(
            model_name='statement',
            index=models.Index(fields=['date_end'], name='statement_date_end'),
        ),
    ]
