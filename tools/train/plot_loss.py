#!/usr/bin/python3
"""Draws the training loss (and the validation exact-match rate) of a
train_log.tsv as a small standalone SVG.

  plot_loss.py models/rkv-reasoner-mini/train_log.tsv -o models/rkv-reasoner-mini/loss.svg"""
import argparse
import math


def read_log(path):
    rows = []
    for line in open(path, encoding="utf-8"):
        if line.startswith("#") or line.startswith("step"):
            continue
        c = line.rstrip("\n").split("\t")
        rows.append({"step": int(c[0]), "tokens": int(c[1]), "minutes": float(c[2]), "loss": float(c[3]),
                     "exact": float(c[7]) if len(c) > 7 and c[7] else None})
    return rows


def svg(rows, width=640, height=360):
    left, right, top, bottom = 60, 60, 20, 45
    w, h = width - left - right, height - top - bottom
    max_tokens = rows[-1]["tokens"]
    lo = math.floor(math.log10(min(r["loss"] for r in rows)))
    hi = math.ceil(math.log10(max(r["loss"] for r in rows)))

    def x(tokens):
        return left + w * tokens / max_tokens

    def y_loss(loss):
        return top + h * (hi - math.log10(loss)) / (hi - lo)

    def y_frac(f):
        return top + h * (1 - f)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
           f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#888"/>']
    for e in range(lo, hi + 1):
        yy = y_loss(10 ** e)
        out.append(f'<line x1="{left}" y1="{yy:.1f}" x2="{left + w}" y2="{yy:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end">1e{e}</text>')
    for k in range(0, 6):
        t = max_tokens * k / 5
        out.append(f'<text x="{x(t):.1f}" y="{top + h + 15}" text-anchor="middle">{t / 1e6:.1f}M</text>')
        f = k / 5
        out.append(f'<text x="{left + w + 6}" y="{y_frac(f) + 4:.1f}" fill="#c33">{f:.1f}</text>')
    out.append(f'<text x="{left + w / 2}" y="{height - 8}" text-anchor="middle">training tokens</text>')
    out.append(f'<text x="14" y="{top + h / 2}" transform="rotate(-90 14 {top + h / 2})" text-anchor="middle">'
               'training loss (log scale)</text>')
    out.append(f'<text x="{width - 10}" y="{top + h / 2}" transform="rotate(90 {width - 10} {top + h / 2})" '
               'text-anchor="middle" fill="#c33">validation: whole chain argmax-correct</text>')
    pts = " ".join(f"{x(r['tokens']):.1f},{y_loss(r['loss']):.1f}" for r in rows)
    out.append(f'<polyline points="{pts}" fill="none" stroke="#26c" stroke-width="1.5"/>')
    ex = [r for r in rows if r["exact"] is not None]
    if ex:
        pts = " ".join(f"{x(r['tokens']):.1f},{y_frac(r['exact']):.1f}" for r in ex)
        out.append(f'<polyline points="{pts}" fill="none" stroke="#c33" stroke-width="1.5" stroke-dasharray="4 3"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log")
    ap.add_argument("-o", "--out", required=True)
    a = ap.parse_args()
    with open(a.out, "w", encoding="utf-8") as f:
        f.write(svg(read_log(a.log)))


if __name__ == "__main__":
    main()
