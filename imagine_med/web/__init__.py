"""The web app (`imagine-med web`): playground, case viewer, moderators' dashboard, accounts.

It is one more adapter over the same `BotCore` as Discord and Slack (parse -> moderation ->
queue -> engine), with its own sessions, CSRF and Content-Security-Policy (`security`)."""
