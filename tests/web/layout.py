"""What "fits" means on a screen, measured in the browser: nothing sticks out of the
viewport or out of a box that clips it (overflow hidden/auto/scroll), no scroll box has
content you would have to scroll to, no text overflows the element that holds it, and no
two pieces of text or controls overlap. A list meant to scroll (the desk's queue) says so
with `data-scrolls`, and what is inside it is not measured. Text is measured by its own line boxes (a Range
over each text node), so a block that spans the width does not "overlap" a badge
floating in its corner while the words themselves stay clear of it."""

from __future__ import annotations

LAYOUT_JS = r"""(rootSelectors) => {
  const bad = [];
  const tol = 1.5;
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.classList.length ? '.' + [...el.classList].join('.') : '');
  const hiddenByStyle = el => {
    for (let e = el; e && e !== document.documentElement; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (e.hidden || s.display === 'none' || s.visibility === 'hidden' || s.opacity === '0') return true;
      if (e.classList.contains('sr-only') || e.classList.contains('skip-link')) return true;
    }
    return false;
  };
  const roots = rootSelectors.flatMap(sel => [...document.querySelectorAll(sel)]).filter(r => !hiddenByStyle(r));
  const vw = window.innerWidth, vh = window.innerHeight;
  const items = [];  // {el, rect, text}
  const clipOf = el => {
    const out = [];
    for (let e = el.parentElement; e && e !== document.body; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.overflowX !== 'visible' || s.overflowY !== 'visible') out.push(e);
    }
    return out;
  };
  const box = r => `${Math.round(r.left)},${Math.round(r.top)} ${Math.round(r.right)}x${Math.round(r.bottom)}`;
  const checkInside = (label, el, r) => {
    if (r.left < -tol || r.top < -tol || r.right > vw + tol || r.bottom > vh + tol) {
      bad.push(`${label} outside the viewport (${box(r)} in ${vw}x${vh})`);
      return;
    }
    for (const c of clipOf(el)) {
      const b = c.getBoundingClientRect();
      if (r.left < b.left - tol || r.top < b.top - tol || r.right > b.right + tol || r.bottom > b.bottom + tol) {
        bad.push(`${label} clipped by ${name(c)} (${box(r)} in ${box(b)})`);
        return;
      }
    }
  };
  for (const root of roots) {
    const els = [root, ...root.querySelectorAll('*')];
    for (const el of els) {
      if (hiddenByStyle(el) || el.closest('[data-scrolls]')) continue;
      const r = el.getBoundingClientRect();
      if (!r.width || !r.height) continue;
      const s = getComputedStyle(el);
      if (s.overflowX !== 'visible' || s.overflowY !== 'visible') {
        if (el.scrollHeight > el.clientHeight + 2 || el.scrollWidth > el.clientWidth + 2)
          bad.push(`${name(el)} has hidden content ` +
                   `(${el.scrollWidth}x${el.scrollHeight} in ${el.clientWidth}x${el.clientHeight})`);
      }
      const control = ['BUTTON', 'INPUT', 'IMG', 'SELECT', 'TEXTAREA', 'svg'].includes(el.tagName);
      if (control) { checkInside(name(el), el, r); items.push({el, rect: r, label: name(el)}); }
      for (const node of el.childNodes) {
        if (node.nodeType !== 3 || !node.textContent.trim()) continue;
        const range = document.createRange();
        range.selectNodeContents(node);
        for (const tr of range.getClientRects()) {
          if (tr.width < 1 || tr.height < 1) continue;
          const label = `"${node.textContent.trim().slice(0, 24)}" in ${name(el)}`;
          checkInside(label, el, tr);
          items.push({el, rect: tr, label, text: true});
        }
      }
    }
  }
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const a = items[i], b = items[j];
      if (a.el === b.el || a.el.contains(b.el) || b.el.contains(a.el)) continue;
      const w = Math.min(a.rect.right, b.rect.right) - Math.max(a.rect.left, b.rect.left);
      const h = Math.min(a.rect.bottom, b.rect.bottom) - Math.max(a.rect.top, b.rect.top);
      if (w > 2 && h > 2) bad.push(`${a.label} overlaps ${b.label}`);
    }
  }
  return [...new Set(bad)].slice(0, 12);
}"""

#: The smallest font size on a kiosk screen, in CSS pixels, of every visible piece of text.
SMALLEST_TEXT_JS = r"""(rootSelectors) => {
  let smallest = [1e9, ''];
  const roots = rootSelectors.flatMap(sel => [...document.querySelectorAll(sel)]);
  for (const root of roots) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (!n.textContent.trim()) continue;
      const el = n.parentElement;
      if (!el.getClientRects().length || el.closest('[hidden], .sr-only, .skip-link, script, style')) continue;
      const r = el.getBoundingClientRect();
      if (!r.width || !r.height) continue;
      const size = parseFloat(getComputedStyle(el).fontSize);
      if (size < smallest[0]) smallest = [size, n.textContent.trim().slice(0, 30)];
    }
  }
  return smallest;
}"""
