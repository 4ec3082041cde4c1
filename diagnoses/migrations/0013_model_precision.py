# The numeric precision a model version was exported at (fp32, or int8/fp16 with an agreement
# report against fp32, checked at registration).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('diagnoses', '0012_validation'),
    ]

    operations = [
        migrations.AddField(
            model_name='modelversion',
            name='precision',
            field=models.CharField(default='fp32', help_text='fp32, or int8/fp16 exported with an agreement report (inference.precision).', max_length=8),
        ),
    ]
