"""Proposals: events get a status (reported, proposed, proposal rejected), figures two more statuses (proposed,
proposal rejected), partial indexes for the review desk and for counting facts, and the Ingestion record of an
article that came in from its text (the same text twice is recognised by its fingerprint)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0007_search"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Ingestion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "text_sha256",
                    models.CharField(
                        help_text="SHA-256 of the normalised text (NFC, whitespace runs as one space).",
                        max_length=64,
                        unique=True,
                    ),
                ),
                ("source", models.CharField(help_text="command, admin or api.", max_length=10)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("proposals", models.JSONField(blank=True, default=dict)),
                ("mentions", models.JSONField(blank=True, default=list)),
            ],
            options={
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.RemoveConstraint(
            model_name="figure",
            name="articles_figure_status_valid",
        ),
        migrations.AddField(
            model_name="event",
            name="status",
            field=models.CharField(
                choices=[
                    ("reported", "Reported"),
                    ("proposed", "Proposed (not reviewed)"),
                    ("dismissed", "Proposal rejected"),
                ],
                default="reported",
                help_text="Proposed: by the extraction, hidden until accepted; proposal rejected: kept, hidden.",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="historicalevent",
            name="status",
            field=models.CharField(
                choices=[
                    ("reported", "Reported"),
                    ("proposed", "Proposed (not reviewed)"),
                    ("dismissed", "Proposal rejected"),
                ],
                default="reported",
                help_text="Proposed: by the extraction, hidden until accepted; proposal rejected: kept, hidden.",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="figure",
            name="status",
            field=models.CharField(
                choices=[
                    ("reported", "Reported"),
                    ("verified", "Verified"),
                    ("corrected", "Corrected"),
                    ("disputed", "Disputed"),
                    ("rejected", "Rejected"),
                    ("proposed", "Proposed (not reviewed)"),
                    ("dismissed", "Proposal rejected"),
                ],
                default="reported",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="historicalfigure",
            name="status",
            field=models.CharField(
                choices=[
                    ("reported", "Reported"),
                    ("verified", "Verified"),
                    ("corrected", "Corrected"),
                    ("disputed", "Disputed"),
                    ("rejected", "Rejected"),
                    ("proposed", "Proposed (not reviewed)"),
                    ("dismissed", "Proposal rejected"),
                ],
                default="reported",
                max_length=10,
            ),
        ),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(condition=models.Q(("status", "proposed")), fields=["article"], name="event_proposed"),
        ),
        migrations.AddIndex(
            model_name="figure",
            index=models.Index(condition=models.Q(("status", "proposed")), fields=["article"], name="figure_proposed"),
        ),
        migrations.AddIndex(
            model_name="figure",
            index=models.Index(
                condition=models.Q(("status__in", ["dismissed", "proposed"]), _negated=True),
                fields=["company"],
                name="figure_company_facts",
            ),
        ),
        migrations.AddConstraint(
            model_name="event",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["reported", "proposed", "dismissed"])),
                name="articles_event_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="figure",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "status__in",
                        ["reported", "verified", "corrected", "disputed", "rejected", "proposed", "dismissed"],
                    )
                ),
                name="articles_figure_status_valid",
            ),
        ),
        migrations.AddField(
            model_name="ingestion",
            name="article",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE, related_name="ingestion", to="articles.article"
            ),
        ),
        migrations.AddField(
            model_name="ingestion",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
