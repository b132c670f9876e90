"""The request's number ``TH<date><id>`` is written by the database (a stored generated column
of ``number_day`` and the id) instead of an insert with a placeholder and an update."""

from django.db import migrations, models
from django.db.models import Case, Value, When
from django.db.models.functions import Cast, Concat, LPad, Substr


def day_from_number(apps, schema_editor):
    ReturnRequest = apps.get_model("returns", "ReturnRequest")
    ReturnRequest.objects.update(number_day=Substr("number", 3, 8))


class Migration(migrations.Migration):
    dependencies = [
        ("returns", "0008_h19b_evidence_original_name"),
    ]

    operations = [
        migrations.AddField(
            model_name="returnrequest",
            name="number_day",
            field=models.CharField(
                default="", editable=False, max_length=8, verbose_name="申请日（上海时间）"
            ),
            preserve_default=False,
        ),
        migrations.RunPython(day_from_number, migrations.RunPython.noop, elidable=True),
        migrations.RemoveField(model_name="returnrequest", name="number"),
        migrations.AddField(
            model_name="returnrequest",
            name="number",
            field=models.GeneratedField(
                db_persist=True,
                expression=Concat(
                    Value("TH"),
                    "number_day",
                    Case(
                        When(
                            id__lt=100_000,
                            then=LPad(Cast("id", models.CharField()), 5, Value("0")),
                        ),
                        default=Cast("id", models.CharField()),
                    ),
                ),
                output_field=models.CharField(max_length=40),
                unique=True,
                verbose_name="售后单号",
            ),
        ),
    ]
