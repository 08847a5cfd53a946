"""A source's interval is at most a year (it was only bounded below).

A longer interval made `now + interval` overflow, so every fetch of that source failed.
Rows stored before the bound are brought down to a year before the check is added, so
the migration cannot fail on them.
"""

import datetime
import governance.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('governance', '0019_quotes_and_inferred_dates'),
    ]

    operations = [
        migrations.AlterField(
            model_name='source',
            name='interval',
            field=models.DurationField(default=datetime.timedelta(seconds=3600), help_text='How often to fetch it: from 00:01:00 (a minute) to 365 00:00:00 (a year).', validators=[governance.models.validate_interval]),
        ),
        migrations.RunSQL(
            "UPDATE governance_source SET interval = interval '365 days' "
            "WHERE interval > interval '365 days'",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AddConstraint(
            model_name='source',
            constraint=models.CheckConstraint(condition=models.Q(('interval__lte', datetime.timedelta(days=365))), name='source_interval_at_most_a_year', violation_error_message='The interval must be between a minute (00:01:00) and a year (365 00:00:00).'),
        ),
    ]
