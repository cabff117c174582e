"""`/flowkeeper …` commands people write in tracker comments, on every webhook's path.

`parse` reads a command from a comment (pure); `handler` carries it out (a snooze or an
exemption in the store, an audit entry) and builds the acknowledgement the executor posts.
"""
