# LogisticsAlert now belongs to orders (orders 0003 adds it to orders' state over the same
# table, aftersales_logisticsalert): the kernel only forgets it; the table stays.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('aftersales', '0002_notification_user_no_duplicate_index'),
        ('orders', '0003_logisticsalert'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='LogisticsAlert')],
            database_operations=[],
        ),
    ]
