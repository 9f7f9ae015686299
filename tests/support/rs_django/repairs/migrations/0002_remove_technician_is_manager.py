from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("repairs", "0001_initial")]

    operations = [migrations.RemoveField(model_name="technician", name="is_manager")]
