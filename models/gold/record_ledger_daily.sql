{#- [Rule 14](docs/contract.md#rule-14) for consumers and the on-call engineer: what became of the
    records that reached bronze each day, per source and topic. -#}
with

ledger as (

    select * from {{ ref('record_ledger') }}

)

select
    to_date(ingested_at) as date,
    source,
    coalesce(topic, '') as topic,
    count(*) as records,
    count_if(disposition = 'accepted') as accepted,
    count_if(disposition = 'rejected') as rejected,
    count_if(disposition = 'duplicate') as duplicates,
    count_if(disposition = 'superseded') as superseded,
    count_if(disposition is null) as unaccounted,
    count_if(is_coordinate_conflict) as coordinate_conflicts
from ledger
group by 1, 2, 3
