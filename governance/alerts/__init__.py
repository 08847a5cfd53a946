"""Follows and email digests (issue #7, "Follow and alerts").

models.py   Follow (a user's followed proposal, country, person or saved search),
            Digest (one email sent) and DigestItem (the ledger: what each follow was sent)
digests.py  what is new for a follow, and the send that records it
tokens.py   signed unsubscribe tokens
views.py    follow / unfollow, the /following/ page, unsubscribe without login
"""
