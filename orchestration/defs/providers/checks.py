"""GX suite on the provider-group spend marts: shares, ranks and HHI consistent, totals reconciled with
mart_la_spend to the penny."""

import dagster as dg

from expectations import providers as suites
from orchestration.lib.gx_checks import gx_asset_check

provider_group_spend_check = gx_asset_check(
    name="gx_marts_provider_group_spend",
    asset=dg.AssetKey(["marts", "mart_regional_spend_concentration"]),
    suite=suites.provider_group_spend_suite,
    batches_sql=None,
    batch_sql=suites.PROVIDER_GROUP_SPEND_BATCH,
    source="spend",
    may_be_empty=True,  # no children's placement spend in any configured grouping is a result, not a failure
    description="Per region or consortium x financial year: provider groups' shares in [0, 1] and summing to 1, "
    "ranks 1..n each once, HHI between 10,000/n and 10,000, and total spend equal to mart_la_spend over the same "
    "LAs (children's placement categories), to the penny.",
    additional_deps=[dg.AssetKey(["marts", "mart_provider_group_spend"]), dg.AssetKey(["marts", "mart_la_spend"]),
                     dg.AssetKey(["marts", "bridge_local_authority_grouping"])],
)

CHECKS = [provider_group_spend_check]
