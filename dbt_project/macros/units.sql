{#-
    The administrative units as the models read them, from `admin_units` (the rows of stg_ref__admin_units):
    one definition of "the communes with their province", "the provinces" and "the communes of each province",
    for the commune and province models and the registry counts alike.
-#}

{#- Every commune (unit_code) with its province (province_code). -#}
{% macro communes(admin_units) -%}
    select
        {{ admin_units }}.unit_code,
        {{ admin_units }}.province_code,

    from {{ admin_units }}
    where {{ admin_units }}.unit_level = 'commune'
{%- endmacro %}

{#- Every province (province_code). -#}
{% macro provinces(admin_units) -%}
    select {{ admin_units }}.unit_code as province_code
    from {{ admin_units }}
    where {{ admin_units }}.unit_level = 'province'
{%- endmacro %}

{#- The number of communes of each province (province_code, communes_total). -#}
{% macro communes_per_province(admin_units) -%}
    select
        {{ admin_units }}.province_code,
        count(*) as communes_total,

    from {{ admin_units }}
    where {{ admin_units }}.unit_level = 'commune'
    group by {{ admin_units }}.province_code
{%- endmacro %}
