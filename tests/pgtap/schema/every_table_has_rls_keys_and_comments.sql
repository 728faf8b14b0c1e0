-- Every package table has row level security, a primary key, a comment on the table and on
-- every column, and every foreign key has an index that starts with its columns.
begin;
select plan(6);

create temporary view package_tables as
select
    c.oid,
    format('%I.%I', c.relnamespace::regnamespace, c.relname) as table_name
from pg_catalog.pg_class as c
where
    c.relkind in ('r', 'p')
    and c.relnamespace in ('public'::regnamespace, 'conductor'::regnamespace)
    and format('%I.%I', c.relnamespace::regnamespace, c.relname) in (
        select object_identity from conductor.package_objects
        where object_kind = 'table'
    );

select cmp_ok((select count(*) from package_tables), '>=', 24::bigint, 'the package tables are registered');

select is_empty(
    $$select table_name from package_tables as t
      join pg_catalog.pg_class as c on c.oid = t.oid where not c.relrowsecurity$$,
    'row level security is enabled on every table'
);

select is_empty(
    $$select table_name from package_tables as t
      where not exists (select from pg_catalog.pg_constraint as k where k.conrelid = t.oid and k.contype = 'p')$$,
    'every table has a primary key'
);

select is_empty(
    $$select table_name from package_tables as t where obj_description(t.oid, 'pg_class') is null$$,
    'every table has a comment'
);

select is_empty(
    $$select t.table_name || '.' || a.attname
      from package_tables as t
      join pg_catalog.pg_attribute as a on a.attrelid = t.oid and a.attnum > 0 and not a.attisdropped
      where col_description(t.oid, a.attnum) is null$$,
    'every column has a comment'
);

select is_empty(
    $$select k.conname
      from pg_catalog.pg_constraint as k
      join package_tables as t on t.oid = k.conrelid
      where k.contype = 'f'
        and not exists (
            select from pg_catalog.pg_index as i
            where i.indrelid = k.conrelid
              and (i.indkey::int2[])[0:array_length(k.conkey, 1) - 1] @> k.conkey
              and (i.indkey::int2[])[0:array_length(k.conkey, 1) - 1] <@ k.conkey
        )$$,
    'every foreign key has an index leading with its columns'
);

select * from finish();
rollback;
