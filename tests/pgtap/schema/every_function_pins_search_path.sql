-- Every package function pins search_path to pg_catalog, pg_temp (splinter lint 0011; pg_temp named
-- last, so a caller's temporary objects never shadow a type or table), security definer functions
-- are not executable by anon or authenticated (lints 0028/0029), every
-- function and view has a comment, views are security_invoker or not exposed, and no
-- extension lives in public (lint 0014).
begin;
select plan(5);

select is_empty(
    $$select p.oid::regprocedure::text
      from pg_catalog.pg_proc as p
      where p.pronamespace in ('public'::regnamespace, 'conductor'::regnamespace)
        and not exists (select from pg_catalog.pg_depend as d where d.objid = p.oid and d.deptype = 'e')
        and not coalesce(p.proconfig::text[] @> array['search_path=pg_catalog, pg_temp'], false)$$,
    'every function pins search_path to pg_catalog, pg_temp'
);

select is_empty(
    $$select p.oid::regprocedure::text
      from pg_catalog.pg_proc as p
      where p.pronamespace in ('public'::regnamespace, 'conductor'::regnamespace)
        and p.prosecdef
        and (has_function_privilege('anon', p.oid, 'EXECUTE')
             or has_function_privilege('authenticated', p.oid, 'EXECUTE'))$$,
    'no security definer function is executable by anon or authenticated'
);

select is_empty(
    $$select p.oid::regprocedure::text
      from pg_catalog.pg_proc as p
      where p.pronamespace in ('public'::regnamespace, 'conductor'::regnamespace)
        and not exists (select from pg_catalog.pg_depend as d where d.objid = p.oid and d.deptype = 'e')
        and obj_description(p.oid, 'pg_proc') is null$$,
    'every function has a comment'
);

select is_empty(
    $$select c.oid::regclass::text
      from pg_catalog.pg_class as c
      where c.relnamespace in ('public'::regnamespace, 'conductor'::regnamespace)
        and c.relkind in ('v', 'm') and obj_description(c.oid, 'pg_class') is null$$,
    'every view and materialized view has a comment'
);

select is_empty(
    $$select extname from pg_catalog.pg_extension where extnamespace = 'public'::regnamespace$$,
    'no extension is installed in public'
);

select * from finish();
rollback;
