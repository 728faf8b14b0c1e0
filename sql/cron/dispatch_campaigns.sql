-- Every minute: due scheduled campaign messages are queued into public.messages.
insert into conductor_cron_jobs values
('conductor_dispatch_campaigns', '* * * * *', 'select conductor.dispatch_campaigns()');
