-- Every minute: sends whose lease expired become outcome_unknown.
insert into conductor_cron_jobs values
('conductor_reconcile_stale_sends', '* * * * *', 'select conductor.reconcile_stale_sends()');
