-- Safe by default on Supabase: anon and authenticated can read, write and execute nothing;
-- service_role can use the public tables, views and functions; the conductor schema is
-- reachable by neither API role.
begin;
select plan(11);

select is_empty(
    $$select c.oid::regclass::text || ' ' || p.privilege_type
      from pg_catalog.pg_class as c
      cross join (values ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE'), ('REFERENCES'), ('TRIGGER')) as p (privilege_type)
      cross join (values ('anon'), ('authenticated')) as r (role_name)
      where c.relnamespace in ('public'::regnamespace, 'conductor'::regnamespace)
        and c.relkind in ('r', 'v', 'm', 'p')
        and has_table_privilege(r.role_name, c.oid, p.privilege_type)$$,
    'anon and authenticated hold no privilege on any table or view'
);

select is_empty(
    $$select p.oid::regprocedure::text
      from pg_catalog.pg_proc as p
      cross join (values ('anon'), ('authenticated')) as r (role_name)
      where p.pronamespace in ('public'::regnamespace, 'conductor'::regnamespace)
        and has_function_privilege(r.role_name, p.oid, 'EXECUTE')$$,
    'anon and authenticated can execute no package function'
);

select ok(not has_schema_privilege('anon', 'conductor', 'USAGE'), 'anon has no usage on conductor');
select ok(not has_schema_privilege('authenticated', 'conductor', 'USAGE'), 'authenticated has no usage on conductor');
select ok(not has_schema_privilege('service_role', 'conductor', 'USAGE'), 'service_role has no usage on conductor');

select is_empty(
    $$select object_identity from conductor.package_objects
      where object_kind = 'table' and object_identity like 'public.%'
        and object_identity not in (
            'public.customer_visit_patterns', 'public.customer_product_affinity', 'public.customer_lifetime_value'
        )
        and case
            when object_kind = 'table'
                then not has_table_privilege('service_role', object_identity, 'SELECT, INSERT, UPDATE, DELETE')
            else false
        end$$,
    'service_role can read and write every public table it feeds'
);

select is_empty(
    $$select c.oid::regclass::text
      from pg_catalog.pg_class as c
      where c.oid in (
          'public.customer_visit_patterns'::regclass, 'public.customer_product_affinity'::regclass,
          'public.customer_lifetime_value'::regclass
      )
        and (not has_table_privilege('service_role', c.oid, 'SELECT')
             or has_table_privilege('service_role', c.oid, 'INSERT, UPDATE, DELETE'))$$,
    'service_role reads the derived tables and cannot write them'
);

select is_empty(
    $$select c.oid::regclass::text || ' ' || p.privilege_type
      from pg_catalog.pg_class as c
      cross join (values ('TRUNCATE'), ('REFERENCES'), ('TRIGGER')) as p (privilege_type)
      where c.relnamespace in ('public'::regnamespace, 'conductor'::regnamespace)
        and c.relkind in ('r', 'v', 'm', 'p')
        and has_table_privilege('service_role', c.oid, p.privilege_type)$$,
    'service_role can neither truncate, reference nor attach a trigger to any package table'
);

select is_empty(
    $$select object_identity from conductor.package_objects
      where object_kind = 'function'
        and case
            when object_kind = 'function'
                then not has_function_privilege('service_role', object_identity, 'EXECUTE')
            else false
        end$$,
    'service_role can execute every public function of the package'
);

set local role anon;
select throws_ok('select count(*) from public.customers', '42501', null, 'anon cannot read customers');
reset role;
set local role service_role;
select lives_ok('select count(*) from public.customers', 'service_role reads customers');
reset role;

select * from finish();
rollback;
