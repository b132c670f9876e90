# LogisticsAlert moves from the kernel to orders (issue 12): the table keeps its name
# (aftersales_logisticsalert), so only the migration state changes. The kernel's state-only
# DeleteModel (aftersales 0003) runs after this one.

import django.db.models.deletion
from django.db import migrations, models

import aftersales.clock


def content_type_to(app_label, other):
    """Keep the model's content type (and the permissions granted on it) with the model."""

    def move(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        db = schema_editor.connection.alias
        if not ContentType.objects.using(db).filter(
            app_label=app_label, model="logisticsalert"
        ).exists():
            ContentType.objects.using(db).filter(app_label=other, model="logisticsalert").update(
                app_label=app_label
            )

    return move


class Migration(migrations.Migration):

    dependencies = [
        ('aftersales', '0002_notification_user_no_duplicate_index'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('orders', '0002_gateway_transfer'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='LogisticsAlert',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('shipment_id', models.BigIntegerField(verbose_name='包裹')),
                        ('order_id', models.BigIntegerField(verbose_name='订单')),
                        ('reason', models.CharField(choices=[('stale', '物流长时间未更新'), ('exception', '物流异常')], max_length=10, verbose_name='原因')),
                        ('status', models.CharField(choices=[('open', '待处理'), ('resolved', '已解决')], default='open', max_length=10, verbose_name='状态')),
                        ('carrier', models.CharField(blank=True, max_length=40, verbose_name='承运商')),
                        ('tracking_number', models.CharField(blank=True, max_length=64, verbose_name='运单号')),
                        ('last_event_at', models.DateTimeField(blank=True, null=True, verbose_name='最近轨迹时间')),
                        ('detail', models.CharField(blank=True, max_length=300, verbose_name='说明')),
                        ('raised_at', models.DateTimeField(default=aftersales.clock.now, verbose_name='预警时间')),
                        ('resolved_at', models.DateTimeField(blank=True, null=True, verbose_name='解决时间')),
                        ('consumer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='aftersales.consumerprofile', verbose_name='消费者')),
                        ('merchant', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='aftersales.merchant', verbose_name='商家')),
                    ],
                    options={
                        'verbose_name': '物流预警',
                        'verbose_name_plural': '物流预警',
                        'db_table': 'aftersales_logisticsalert',
                        'ordering': ['-raised_at', '-id'],
                        'indexes': [models.Index(fields=['status', '-raised_at'], name='logistics_alert_queue'), models.Index(fields=['merchant', '-id'], name='logistics_alert_merchant'), models.Index(fields=['consumer', '-id'], name='logistics_alert_consumer'), models.Index(fields=['shipment_id'], name='logistics_alert_shipment')],
                        'constraints': [models.CheckConstraint(condition=models.Q(('reason__in', ['stale', 'exception'])), name='logistics_alert_reason_valid'), models.CheckConstraint(condition=models.Q(('status__in', ['open', 'resolved'])), name='logistics_alert_status_valid')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            content_type_to("orders", "aftersales"), content_type_to("aftersales", "orders")
        ),
    ]
