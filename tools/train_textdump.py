#!/usr/bin/env python3
"""Train the text-dump line classifier and metadata rankers; report CV figures grouped by site.

    python tools/train_textdump.py CASES_DIR [--out archive/data/textdump_model.json]
                                             [--folds 5] [--no-write]

CASES_DIR holds one folder per page with page.txt and expected.json (its "body" is the
human-marked article, its "url" names the site, "title" and "outlet" with their
"*_alternates" the metadata). Each non-empty line of page.txt is labelled article when most
of its words align with the marked body. Then two rankers are fitted on the cleaned pages:
one picks the headline among the candidate lines near the article, one the outlet among the
names the page proposes for itself; each is a linear score, fitted as a conditional logit
(softmax over a page's candidates) with a ridge penalty. Cross-validation keeps every site's
pages in one fold and trains everything (line model, then rankers) without the fold, so a
figure never comes from a site the model was trained on. The final model is trained on all
pages. Needs numpy only (scikit-learn for the optional tree layers).
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import re
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archive.textdump import extract_text_dump  # noqa: E402
from archive.textdump.clean import clean_lines  # noqa: E402
from archive.textdump.features import FEATURES, line_matrix  # noqa: E402
from archive.textdump.meta import find_metadata  # noqa: E402
from archive.textdump.model import (  # noqa: E402
    ACCEPT_CONTEXT,
    MODEL_FILE,
    STAGE2_FEATURES,
    Acceptor,
    LineModel,
    LogisticLayer,
    Ranker,
    TreeLayer,
    ranking_context,
    rivals,
    sigmoid,
    stage2_context,
)
from archive.textdump.outlet import OUTLET_ACCEPT, OUTLET_FEATURES  # noqa: E402
from archive.textdump.title import TITLE_ACCEPT, TITLE_FEATURES  # noqa: E402

TOKEN = re.compile(r"\w+")
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "archive" / "data" / MODEL_FILE
L2 = 3.0  # ridge penalty on standardised weights; the data weigh one unit per page
RANKER_L2 = 1.0  # ridge penalty of the rankers; each page's choice weighs one unit
# The acceptors learn from a few dozen wrong winners, so they lean on their priors; how much
# is chosen per fit among these ridge penalties, by the log-loss of out-of-fold winners.
ACCEPT_L2_CHOICES = (1.0, 3.0, 10.0, 30.0)


@dataclass
class Case:
    id: str
    site: str
    text: str
    expected: dict
    x: np.ndarray
    rows: list[int]
    y: np.ndarray  # 1.0 where the line is article text
    w: np.ndarray  # each page weighs the same; long lines weigh more within a page


def load_cases(root: Path) -> list[Case]:
    cases = []
    for folder in sorted(p for p in root.iterdir() if (p / "expected.json").exists()):
        expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
        text = (folder / "page.txt").read_text(encoding="utf-8")
        lines = text.split("\n")
        x, rows, _ = line_matrix(lines)
        matched = aligned_fraction(lines, expected.get("body") or "")
        y = np.array([float(matched[i] >= 0.5) for i in rows])
        tokens = np.array([len(TOKEN.findall(lines[i])) + 2.0 for i in rows])
        w = tokens / tokens.sum() if len(tokens) else tokens
        site = (urlsplit(expected.get("url") or "").hostname or folder.name).removeprefix("www.")
        cases.append(Case(folder.name, site, text, expected, x, rows, y, w))
    return cases


def aligned_fraction(lines: list[str], body: str) -> list[float]:
    """Share of each line's words that align, in order, with the marked article body."""
    gold = TOKEN.findall(body)
    tokens: list[str] = []
    owner: list[int] = []
    for i, line in enumerate(lines):
        for token in TOKEN.findall(line):
            tokens.append(token)
            owner.append(i)
    matcher = difflib.SequenceMatcher(None, tokens, gold, autojunk=False)
    matched = [0] * len(lines)
    for a, _, size in matcher.get_matching_blocks():
        for k in range(a, a + size):
            matched[owner[k]] += 1
    counts = [len(TOKEN.findall(line)) for line in lines]
    return [matched[i] / counts[i] if counts[i] else 0.0 for i in range(len(lines))]


def prior_weights(features: tuple[str, ...], prior: dict[str, float] | None,
                  scale: np.ndarray) -> np.ndarray:
    """Weights known before any data, per unit of each raw feature, on the standardised
    scale: the ridge pulls towards them rather than towards zero."""
    prior = prior or {}
    unknown = set(prior) - set(features)
    if unknown:
        raise ValueError(f"priors for unknown features: {sorted(unknown)}")
    return np.array([prior.get(f, 0.0) for f in features]) * scale


def fit_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float,
                 prior: np.ndarray | None = None) -> LogisticLayer:
    """Weighted, ridge-penalised logistic regression by Newton's method; `prior` (raw units,
    one per column) is where the ridge pulls the weights, zero by default."""
    mean = np.average(x, axis=0, weights=w)
    scale = np.sqrt(np.average((x - mean) ** 2, axis=0, weights=w))
    scale[scale < 1e-6] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    centre = np.zeros(z.shape[1])
    if prior is not None:
        centre[:-1] = prior * scale
    beta = centre.copy()
    penalty = np.full(z.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(50):
        p = sigmoid(z @ beta)
        grad = z.T @ (w * (p - y)) + penalty * (beta - centre)
        hess = (z * (w * p * (1 - p))[:, None]).T @ z + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-7:
            break
    return LogisticLayer(mean, scale, beta[:-1], float(beta[-1]))


def fit_trees(x: np.ndarray, y: np.ndarray, w: np.ndarray, trees: int = 150, depth: int = 3,
              rate: float = 0.1) -> TreeLayer:
    """Gradient-boosted trees (scikit-learn), flattened into arrays for numpy inference."""
    from sklearn.ensemble import GradientBoostingClassifier

    gbc = GradientBoostingClassifier(n_estimators=trees, max_depth=depth, learning_rate=rate,
                                     subsample=0.8, min_samples_leaf=20, random_state=0)
    gbc.fit(x, y, sample_weight=w * len(y) / w.sum())
    feature, threshold, left, right, value, roots = [], [], [], [], [], []
    for estimator in gbc.estimators_[:, 0]:
        tree = estimator.tree_
        offset = len(feature)
        roots.append(offset)
        for node in range(tree.node_count):
            leaf = tree.children_left[node] == -1
            feature.append(-1 if leaf else int(tree.feature[node]))
            threshold.append(0.0 if leaf else float(tree.threshold[node]))
            left.append(offset + (node if leaf else int(tree.children_left[node])))
            right.append(offset + (node if leaf else int(tree.children_right[node])))
            value.append(rate * float(tree.value[node].ravel()[0]) if leaf else 0.0)
    layer = TreeLayer(np.array(feature), np.array(threshold), np.array(left), np.array(right),
                      np.array(value), np.array(roots), depth, 0.0)
    bias = float(np.mean(gbc.decision_function(x[:50]) - layer.logits(x[:50])))
    return TreeLayer(layer.feature, layer.threshold, layer.left, layer.right, layer.value,
                     layer.roots, depth, bias)


def fit_layer(kind: str, x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float):
    return fit_trees(x, y, w) if kind == "trees" else fit_logistic(x, y, w, l2)


def stack(cases: list[Case]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.vstack([c.x for c in cases])
    y = np.concatenate([c.y for c in cases])
    w = np.concatenate([c.w for c in cases]) * len(cases) / max(1, len(cases))
    return x, y, w


def group_folds(cases: list[Case], k: int) -> list[list[int]]:
    """Case indexes in k folds, every site's cases in one fold, folds of similar size."""
    by_site: dict[str, list[int]] = {}
    for i, case in enumerate(cases):
        by_site.setdefault(case.site, []).append(i)
    folds: list[list[int]] = [[] for _ in range(k)]
    for site in sorted(by_site, key=lambda s: (-len(by_site[s]), s)):
        min(folds, key=len).extend(by_site[site])
    return folds


def train(cases: list[Case], l2: float = L2, kinds: tuple[str, str] = ("logistic", "logistic"),
          threshold: float = 0.5, inner_folds: int = 5) -> LineModel:
    """Stage one on everything; stage two on stage one's out-of-fold scores (by site)."""
    x, y, w = stack(cases)
    stage1 = fit_layer(kinds[0], x, y, w, l2)
    oof = [np.zeros(len(c.rows)) for c in cases]
    for fold in group_folds(cases, inner_folds):
        held = set(fold)
        layer = fit_layer(kinds[0], *stack([c for i, c in enumerate(cases) if i not in held]), l2)
        for i in fold:
            oof[i] = sigmoid(layer.logits(cases[i].x))
    x2 = np.vstack([np.hstack([c.x, stage2_context(p)]) for c, p in zip(cases, oof, strict=True)])
    stage2 = fit_layer(kinds[1], x2, y, w, l2)
    return LineModel(stage1, stage2, threshold)


# The benchmark's body score: 4-token shingles, per-page normalised TP/FP/FN.
def shingles(text: str) -> Counter:
    toks = TOKEN.findall(text or "")
    return Counter(tuple(toks[i:i + 4]) for i in range(max(1, len(toks) - 3)) if toks[i:i + 4])


def body_counts(gold: str, pred: str) -> tuple[float, float, float]:
    t, p = shingles(gold), shingles(pred)
    tp = sum((t & p).values())
    fp = sum((p - t).values())
    fn = sum((t - p).values())
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s else (0.0, 0.0, 0.0)


def body_f1(triples: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    def prec(tp, fp, fn):
        return 1.0 if fp == fn == 0 else (0.0 if tp == fp == 0 else tp / (tp + fp))

    def rec(tp, fp, fn):
        return 1.0 if fp == fn == 0 else (0.0 if tp == fn == 0 else tp / (tp + fn))

    ps = [prec(*t) for t in triples if t[0] + t[1] > 0]
    rs = [rec(*t) for t in triples if t[0] + t[2] > 0]
    p = sum(ps) / len(ps) if ps else 0.0
    r = sum(rs) / len(rs) if rs else 0.0
    return (2 * p * r / (p + r) if p + r else 0.0), p, r


def evaluate(cases: list[Case], models: list[LineModel], per_case: bool = False
             ) -> dict[str, float]:
    triples = []
    for case, model in zip(cases, models, strict=True):
        body = extract_text_dump(case.text, {}, model=model).body
        triples.append(body_counts(case.expected.get("body") or "", body))
        if per_case:
            f, p, r = body_f1(triples[-1:])
            print(f"  {case.id[:12]} {case.site:28} F1 {f:.3f}  P {p:.3f}  R {r:.3f}")
    f1, p, r = body_f1(triples)
    return {"f1": f1, "precision": p, "recall": r}


# --- metadata rankers --------------------------------------------------------------------

def _ws(text: str | None) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text or "")).strip()


def field_ok(name: str, expected: dict, value: str | None) -> bool:
    """The scorer's rule: title exact (spacing aside), outlet any case, date the same day."""
    if not value or not value.strip():
        return False
    gold = [g for g in [expected.get(name), *(expected.get(f"{name}_alternates") or [])] if g]
    if name == "title":
        return _ws(value) in {_ws(g) for g in gold}
    if name == "outlet":
        return _ws(value).casefold() in {_ws(g).casefold() for g in gold}
    return value[:10] in {g[:10] for g in gold}


Group = tuple[np.ndarray, np.ndarray, list[str]]


def candidate_groups(cases: list[Case], model: LineModel, name: str) -> list[Group | None]:
    """Each page's candidates for one field (features, 1.0 where the candidate is right, the
    values); None for a page with no candidate or no expected value."""
    groups: list[Group | None] = []
    for case in cases:
        lines = case.text.split("\n")
        trace: dict = {}
        find_metadata(lines, clean_lines(lines, model=model), {}, model, trace)
        if name not in trace or not case.expected.get(name):
            groups.append(None)
            continue
        values, x = trace[name]
        y = np.array([float(field_ok(name, case.expected, v)) for v in values])
        groups.append((x, y, values))
    return groups


def teaching(groups: list[Group | None]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The pages that can teach a ranker: those whose right answer is among the candidates."""
    return [(g[0], g[1]) for g in groups if g is not None and g[1].any()]


# What is known about outlet names before any page is read, in raw feature units (log counts
# and flags): the ridge pulls the learned weights towards these instead of towards zero, so
# a cue that the training pages rarely show still counts on sites that show it. A word the
# page also writes in lower case ("Talk", "Task") is a label, an author is a person, a name
# with a legal form or company words is an owner, a wire service is credited on other
# sites' pages; a name in the outlet table, or spelt by the page's own address, is a site.
OUTLET_PRIOR = {"common_word": -3.0, "person": -2.0, "wire": -1.5, "legal_form": -1.0,
                "corporate_word": -1.5, "lowercase": -1.0, "known": 1.5, "known_domain": 1.0,
                "top_domain": 1.0}
OUTLET_ACCEPT_PRIOR = {"common_word": -2.0, "person": -2.0, "wire": -1.0,
                       "corporate_word": -1.0, "lowercase": -1.0, "known": 1.5,
                       "known_domain": 0.5, "top_domain": 0.5}
# A dump's first line, when it is short, is the site's name (a blog's above its post's date
# and title): the training pages show it too rarely for the ranker to learn.
TITLE_PRIOR = {"page_top_short": -3.0}
TITLE_ACCEPT_PRIOR = {"breadcrumb": -2.0, "caption": -1.0}

# How many right answers one wrong answer costs: a wrong outlet puts junk into the facet
# of every search, so the outlet needs three to one odds; a wrong title is seen and read past
# at once, a missing one leaves a result unnamed, so a title is refused only when hopeless.
ACCEPT_COST = {"title": 0.25, "outlet": 3.0}


def fit_acceptor(groups: list[Group | None], cases: list[Case],
                 features: tuple[str, ...], accept: tuple[str, ...], cost: float,
                 l2: float, ranker_prior: dict[str, float] | None = None,
                 prior: dict[str, float] | None = None,
                 inner_folds: int = 5,
                 accept_l2: tuple[float, ...] = ACCEPT_L2_CHOICES) -> Acceptor | None:
    """Learn when a ranker's winner is right from winners on pages its ranker never saw
    (inner folds grouped by site); the cut is where a right answer's gain outweighs `cost`
    per wrong one."""
    subset = [features.index(n) for n in accept]
    rows, labels, folds = [], [], []
    for number, fold in enumerate(group_folds(cases, inner_folds)):
        held = set(fold)
        train_groups = teaching([g for i, g in enumerate(groups) if i not in held])
        if not train_groups:
            continue
        ranker = fit_ranker(train_groups, features, l2, ranker_prior)
        for i in fold:
            if groups[i] is None:
                continue
            x, y, values = groups[i]
            scores = ranker.scores(x)
            best = int(np.argmax(scores))
            context = ranking_context(scores[rivals(values, best)])
            rows.append(np.concatenate([context, x[best, subset]]))
            labels.append(float(y[best]))
            folds.append(number)
    if len(set(labels)) < 2:
        return None
    x_acc, y_acc, fold_of = np.array(rows), np.array(labels), np.array(folds)
    centre = np.array([(prior or {}).get(n, 0.0) for n in (*ACCEPT_CONTEXT, *accept)])
    penalty = min(accept_l2, key=lambda l2: _held_out_log_loss(x_acc, y_acc, fold_of, l2, centre))
    layer = fit_logistic(x_acc, y_acc, np.ones(len(y_acc)), penalty, centre)
    # The layer is a calibrated probability of being right, so the cut is where the expected
    # gain of answering turns positive. An empirical best cut over ~90 pages jumps by several
    # points when one page moves.
    best_cut = cost / (1.0 + cost)
    return Acceptor((*ACCEPT_CONTEXT, *accept), layer, best_cut)


def _held_out_log_loss(x: np.ndarray, y: np.ndarray, fold_of: np.ndarray, l2: float,
                       centre: np.ndarray) -> float:
    """Log-loss of each fold's winners under an acceptor fitted on the other folds' ones."""
    loss = 0.0
    for fold in np.unique(fold_of):
        train, test = fold_of != fold, fold_of == fold
        if len(set(y[train])) < 2:
            continue
        layer = fit_logistic(x[train], y[train], np.ones(int(train.sum())), l2, centre)
        p = np.clip(sigmoid(layer.logits(x[test])), 1e-6, 1 - 1e-6)
        loss -= float(np.sum(y[test] * np.log(p) + (1 - y[test]) * np.log(1 - p)))
    return loss


def fit_ranker(groups: list[tuple[np.ndarray, np.ndarray]], features: tuple[str, ...],
               l2: float = RANKER_L2, prior: dict[str, float] | None = None) -> Ranker:
    """Conditional logit: maximise each page's probability of its right candidates.

    Fisher scoring (Newton's method with the expected Hessian, which is never indefinite)
    with step halving; the loss is convex, so it reaches the one optimum.
    """
    x_all = np.vstack([x for x, _ in groups])
    mean = x_all.mean(axis=0)
    scale = x_all.std(axis=0)
    scale[scale < 1e-6] = 1.0
    zs = [((x - mean) / scale, y) for x, y in groups]
    centre = prior_weights(features, prior, scale)

    def loss_grad_fisher(w: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        total, grad = 0.5 * l2 * float((w - centre) @ (w - centre)), l2 * (w - centre)
        fisher = l2 * np.eye(len(w))
        for z, y in zs:
            s = z @ w
            e = np.exp(s - s.max())
            p = e / e.sum()
            q = p * y / (p * y).sum()
            total -= float(np.log((p * y).sum()))
            grad = grad + z.T @ (p - q)
            centred = z - p @ z
            fisher += (centred * p[:, None]).T @ centred
        return total, grad, fisher

    w = centre.copy()
    loss, grad, fisher = loss_grad_fisher(w)
    for _ in range(100):
        step = np.linalg.solve(fisher, grad)
        size = 1.0
        while size > 1e-6:
            trial = w - size * step
            trial_loss, trial_grad, trial_fisher = loss_grad_fisher(trial)
            if trial_loss <= loss:
                break
            size /= 2
        else:
            break
        w, improvement = trial, loss - trial_loss
        loss, grad, fisher = trial_loss, trial_grad, trial_fisher
        if improvement < 1e-9:
            break
    return Ranker(tuple(features), mean, scale, w)


def with_rankers(model: LineModel, cases: list[Case], l2: float = RANKER_L2,
                 accept: bool = True,
                 accept_l2: tuple[float, ...] = ACCEPT_L2_CHOICES) -> LineModel:
    """The line model with a headline ranker and an outlet ranker fitted on `cases`.

    The outlet's cues depend on where the headline and byline are, so the headline ranker is
    fitted first and used while collecting the outlet's candidates. `accept`: fit the
    acceptors too (without them every winner is stored, however uncertain).
    """
    model = dataclasses.replace(model, title_ranker=None, outlet_ranker=None,
                                title_accept=None, outlet_accept=None)
    groups = candidate_groups(cases, model, "title")
    title = fit_ranker(teaching(groups), TITLE_FEATURES, l2, TITLE_PRIOR)
    title_accept = fit_acceptor(groups, cases, TITLE_FEATURES, TITLE_ACCEPT,
                                ACCEPT_COST["title"], l2, TITLE_PRIOR, TITLE_ACCEPT_PRIOR,
                                accept_l2=accept_l2)
    model = dataclasses.replace(model, title_ranker=title)
    groups = candidate_groups(cases, model, "outlet")
    outlet = fit_ranker(teaching(groups), OUTLET_FEATURES, l2, OUTLET_PRIOR)
    outlet_accept = fit_acceptor(groups, cases, OUTLET_FEATURES, OUTLET_ACCEPT,
                                 ACCEPT_COST["outlet"], l2, OUTLET_PRIOR, OUTLET_ACCEPT_PRIOR,
                                 accept_l2=accept_l2)
    if not accept:
        title_accept = outlet_accept = None
    return dataclasses.replace(model, outlet_ranker=outlet, title_accept=title_accept,
                               outlet_accept=outlet_accept)


def evaluate_fields(cases: list[Case], models: list[LineModel]) -> dict[str, tuple[float, float]]:
    """Accuracy of title, date and outlet: over all pages and over pages where it is visible."""
    hits: dict[str, list[tuple[bool, bool]]] = {"title": [], "date": [], "outlet": []}
    for case, model in zip(cases, models, strict=True):
        result = extract_text_dump(case.text, {}, model=model)
        date = result.published
        values = {"title": result.title, "outlet": result.outlet,
                  "date": date.value.isoformat() if date and date.precision == "day" else None}
        visible = case.expected.get("visible_in_text") or {}
        for name, value in values.items():
            if case.expected.get(name):
                hits[name].append((field_ok(name, case.expected, value),
                                   bool(visible.get(name))))
    out = {}
    for name, rows in hits.items():
        seen = [ok for ok, vis in rows if vis]
        out[name] = (sum(ok for ok, _ in rows) / max(1, len(rows)),
                     sum(seen) / max(1, len(seen)))
    return out


def write_predictions(cases: list[Case], models: list[LineModel], path: Path) -> None:
    """Each page's extraction by the model that never saw its site, as the scorer reads it."""
    with path.open("w", encoding="utf-8") as out:
        for case, model in zip(cases, models, strict=True):
            result = extract_text_dump(case.text, {}, model=model)
            date = result.published
            record = {"id": case.id, "body": result.body, "title": result.title,
                      "date": date.iso() if date else None,
                      "outlet": result.outlet}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def _fields_line(figures: dict[str, tuple[float, float]]) -> str:
    return "  ".join(f"{name} {all_:.3f} (visible {vis:.3f})"
                     for name, (all_, vis) in figures.items())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cases", type=Path)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--no-write", action="store_true", help="report figures only")
    ap.add_argument("--l2", type=float, default=L2, help="ridge penalty")
    ap.add_argument("--stages", default="logistic,logistic",
                    help="layer kinds of stage one and two: logistic or trees")
    ap.add_argument("--threshold", type=float, default=0.6, help="article probability cut")
    ap.add_argument("--per-case", action="store_true", help="list each page's CV figures")
    ap.add_argument("--cv-pred", type=Path,
                    help="write each page's cross-validated prediction here (JSON Lines, "
                         "for the evaluation scorer's --pred)")
    ap.add_argument("--ranker-l2", type=float, default=RANKER_L2,
                    help="ridge penalty of the headline and outlet rankers")
    ap.add_argument("--accept-l2", type=float, nargs="+", default=ACCEPT_L2_CHOICES,
                    help="ridge penalties the acceptors choose among (by held-out log-loss)")
    ap.add_argument("--no-accept", action="store_true",
                    help="store every ranker's winner, however uncertain (for comparison)")
    args = ap.parse_args(argv)

    cases = load_cases(args.cases)
    kinds = tuple(args.stages.split(","))
    sites = {c.site for c in cases}
    lines = sum(len(c.rows) for c in cases)
    print(f"{len(cases)} pages from {len(sites)} sites, {lines} lines, "
          f"{len(FEATURES)}+{len(STAGE2_FEATURES)} features")
    per_case: list[LineModel | None] = [None] * len(cases)
    for fold in group_folds(cases, args.folds):
        held = set(fold)
        training = [c for i, c in enumerate(cases) if i not in held]
        model = train(training, args.l2, kinds, args.threshold)
        model = with_rankers(model, training, args.ranker_l2, not args.no_accept,
                             tuple(args.accept_l2))
        for i in fold:
            per_case[i] = model
    cv = evaluate(cases, per_case, args.per_case)  # type: ignore[arg-type]
    print(f"grouped {args.folds}-fold CV by site: body F1 {cv['f1']:.3f}  "
          f"precision {cv['precision']:.3f}  recall {cv['recall']:.3f}")
    print(f"  {_fields_line(evaluate_fields(cases, per_case))}")  # type: ignore[arg-type]
    if args.cv_pred:
        write_predictions(cases, per_case, args.cv_pred)  # type: ignore[arg-type]
    final = train(cases, args.l2, kinds, args.threshold)
    final = with_rankers(final, cases, args.ranker_l2, not args.no_accept,
                         tuple(args.accept_l2))
    fit = evaluate(cases, [final] * len(cases))
    print(f"trained on all pages (not a test figure): body F1 {fit['f1']:.3f}  "
          f"precision {fit['precision']:.3f}  recall {fit['recall']:.3f}")
    print(f"  {_fields_line(evaluate_fields(cases, [final] * len(cases)))}")
    if not args.no_write:
        args.out.write_text(json.dumps(final.to_json(), indent=0) + "\n", encoding="utf-8")
        print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
