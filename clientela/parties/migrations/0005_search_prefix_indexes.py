from django.db import migrations

from clientela.core.search import SearchPrefixIndex


class Migration(migrations.Migration):
    dependencies = [("parties", "0004_list_filter_name_indexes")]

    operations = [SearchPrefixIndex("contact"), SearchPrefixIndex("organization")]
