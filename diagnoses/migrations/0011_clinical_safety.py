"""Clinical safety (issue 17): the intended-use facts of a study and its "not eligible" status;
model versions active, shadow or retired (was: is_active), and shadow predictions; per-finding
urgencies of a threshold set (the worklist)."""

import django.db.models.deletion
from django.db import migrations, models


def active_to_state(apps, schema_editor):
    """The active version stays active; the others serve nothing: retired."""
    ModelVersion = apps.get_model("diagnoses", "ModelVersion")
    ModelVersion.objects.filter(is_active=True).update(state="active")
    ModelVersion.objects.filter(is_active=False).update(state="retired")


def state_to_active(apps, schema_editor):
    ModelVersion = apps.get_model("diagnoses", "ModelVersion")
    ModelVersion.objects.filter(state="active").update(is_active=True)


class Migration(migrations.Migration):

    dependencies = [
        ("diagnoses", "0010_clinician_experience"),
    ]

    operations = [
        migrations.CreateModel(
            name='ShadowPrediction',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('preprocessing', models.CharField(choices=[('center', 'Centre crop'), ('tencrop', 'TenCrop (mean of 10 crops)')], max_length=16)),
                ('probabilities', models.JSONField(help_text='Finding name -> probability.')),
                ('flagged', models.JSONField(help_text='Names of the findings at or above their threshold.')),
                ('inference_ms', models.FloatField()),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
        migrations.AddField(
            model_name='modelversion',
            name='state',
            field=models.CharField(choices=[('active', 'Active (its readings are the clinical ones)'), ('shadow', 'Shadow (reads every study after the active one; never shown)'), ('retired', 'Retired (reads nothing)')], db_index=True, default='retired', help_text='Active: new studies and re-runs go to it, one version at a time. Shadow: each study is also sent to it, and its readings are kept for comparison only.', max_length=8),
        ),
        migrations.RunPython(active_to_state, state_to_active),
        migrations.RemoveConstraint(
            model_name='modelversion',
            name='one_active_model_version',
        ),
        migrations.RemoveField(
            model_name='modelversion',
            name='is_active',
        ),
        migrations.AddField(
            model_name='study',
            name='intended_use_checked_from',
            field=models.CharField(blank=True, choices=[('', 'Not checked (uploaded before the check)'), ('header', 'DICOM header'), ('uploader', 'Declared by the uploader (no DICOM header)')], default='', help_text='Where the view and age the intended-use rules read came from.', max_length=16),
        ),
        migrations.AddField(
            model_name='study',
            name='intended_use_reasons',
            field=models.JSONField(blank=True, default=list, help_text="Why the study is outside the model's intended use (diagnoses/intended_use.py); empty when within."),
        ),
        migrations.AddField(
            model_name='study',
            name='patient_age_years',
            field=models.FloatField(blank=True, help_text='At the study: from the DICOM header, or as declared.', null=True),
        ),
        migrations.AddField(
            model_name='thresholdset',
            name='urgencies',
            field=models.JSONField(blank=True, default=dict, help_text='Finding name -> how urgently a study flagged with it is read (urgent, priority; routine when not named): orders the worklist.'),
        ),
        migrations.AlterField(
            model_name='modelversion',
            name='serving_url',
            field=models.URLField(blank=True, help_text='GraphPipe server(s) of this version; empty: GRAPHPIPE_URL(S) (a shadow version needs its own).'),
        ),
        migrations.AlterField(
            model_name='study',
            name='status',
            field=models.CharField(choices=[('queued', 'Queued'), ('processing', 'Processing'), ('done', 'Done'), ('failed', 'Failed'), ('not_eligible', 'Not eligible')], db_index=True, default='queued', max_length=16),
        ),
        migrations.AddConstraint(
            model_name='modelversion',
            constraint=models.UniqueConstraint(condition=models.Q(('state', 'active')), fields=('state',), name='one_active_model_version'),
        ),
        migrations.AddField(
            model_name='shadowprediction',
            name='model_version',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='shadow_predictions', to='diagnoses.modelversion'),
        ),
        migrations.AddField(
            model_name='shadowprediction',
            name='study',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='shadow_predictions', to='diagnoses.study'),
        ),
        migrations.AddField(
            model_name='shadowprediction',
            name='threshold_set',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='diagnoses.thresholdset'),
        ),
        migrations.AddConstraint(
            model_name='shadowprediction',
            constraint=models.UniqueConstraint(fields=('study', 'model_version'), name='one_shadow_prediction_per_study_and_model'),
        ),
    ]
