"""Jira Cloud: REST client, JQL, ADF comments, payload normalizing and the setup check."""
