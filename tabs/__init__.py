"""The page's tabs, one module each, which app.py lays out: `photos` (with `pins`, the colour pins
of the photo that is open), `lesson` (How it works) and `video`. What a visitor's page remembers
between reruns is `state`; what the server keeps for it is `server`; `widgets` are shared by tabs.

Streamlit belongs here and in app.py only: the work is done by colorize.page, which never imports it.
(Not `pages/`: Streamlit would make that folder a multipage app.)
"""
