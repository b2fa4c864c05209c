"""What the Streamlit page does, without Streamlit: the page's own helpers, which `app.py` and its
tabs/ only lay out.

- `photo`: a photo on the page: looked at once, previewed, pinned, downloaded (and the turns that
  keep a small shared server's memory bounded)
- `vividness`: the page's vividness slider (0..2) as a model and engine vividness to render with
- `names`: uploaded names made safe to show (plain text, Markdown) and to save (downloads, zips)
- `memory`: what each visitor's session keeps, the look cache all sessions share, and when both
  are released
- `video`: the page's video limits, preview clip and colorizing job
- `teaching`: the How it works pictures
- `gallery`: the sample photos; `compare`: the before/after slider

Nothing here imports Streamlit, and nothing in colorize/ outside this package imports it.
"""
