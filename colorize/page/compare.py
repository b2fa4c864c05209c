"""A before/after comparison slider as one self-contained HTML page (inline CSS/JS, no CDN).

Both pictures are embedded at screen size, so it works offline and in an iframe: the 'before' as
lossless PNG (the photo exactly as uploaded, a sepia scan's tint included), the 'after' as JPEG.
"""

import base64
import html
import io

from PIL import Image


def jpeg_data_url(rgb_uint8, quality=88):
    buf = io.BytesIO()
    Image.fromarray(rgb_uint8, "RGB").save(buf, "JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def png_data_url(rgb_uint8):
    buf = io.BytesIO()
    Image.fromarray(rgb_uint8, "RGB").save(buf, "PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def comparison_html(before, after, before_label="Black and white", after_label="Colorized", start=50):
    """HTML for a draggable before/after slider over two same-size uint8 RGB images, as wide as its
    frame (the 'before' lossless)."""
    h, w = after.shape[:2]
    b_label, a_label = html.escape(before_label), html.escape(after_label)
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
html,body{{margin:0;padding:0;background:transparent;font-family:system-ui,sans-serif}}
.cmp{{position:relative;width:100%;aspect-ratio:{w}/{h};margin:0 auto;overflow:hidden;
  border-radius:8px;user-select:none;--pos:{start}%}}
.cmp img{{position:absolute;inset:0;width:100%;height:100%;display:block;pointer-events:none}}
.cmp .before{{clip-path:inset(0 calc(100% - var(--pos)) 0 0)}}
.cmp .line{{position:absolute;top:0;bottom:0;left:var(--pos);width:3px;margin-left:-1.5px;background:#fff;
  box-shadow:0 0 4px rgba(0,0,0,.6);pointer-events:none}}
.cmp .knob{{position:absolute;top:50%;left:var(--pos);width:34px;height:34px;margin:-17px 0 0 -17px;border-radius:50%;
  background:#fff;box-shadow:0 1px 5px rgba(0,0,0,.5);pointer-events:none;display:flex;align-items:center;
  justify-content:center;font-size:15px;color:#333}}
.cmp .tag{{position:absolute;top:8px;padding:2px 8px;border-radius:4px;background:rgba(0,0,0,.55);color:#fff;
  font-size:13px;pointer-events:none}}
.cmp .tag.l{{left:8px}} .cmp .tag.r{{right:8px}}
.cmp input{{position:absolute;inset:0;width:100%;height:100%;margin:0;opacity:0;cursor:ew-resize}}
</style></head><body>
<div class="cmp" id="cmp">
<img class="after" src="{jpeg_data_url(after)}" alt="{a_label}">
<img class="before" src="{png_data_url(before)}" alt="{b_label}">
<div class="line"></div><div class="knob">&#8596;</div>
<span class="tag l">{b_label}</span><span class="tag r">{a_label}</span>
<input type="range" min="0" max="100" step="0.1" value="{start}" aria-label="Drag to compare {b_label} and {a_label}"
 oninput="document.getElementById('cmp').style.setProperty('--pos', this.value + '%')">
</div></body></html>"""
