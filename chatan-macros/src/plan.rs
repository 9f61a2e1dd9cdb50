//! The plan: each column's dependencies and dependents, by index, and the cycles that
//! would make a recipe impossible to fill. No tokens here; `expand.rs` emits the result.

use crate::ast::Recipe;
use crate::check;
use crate::ctxt::Ctxt;

/// Dependency lists by column index.
pub struct Plan {
    /// For each column, the columns it reads (sorted, without duplicates).
    pub deps: Vec<Vec<usize>>,
    /// For each column, the columns that read it (sorted).
    pub dependents: Vec<Vec<usize>>,
}

/// Builds the plan and reports every cycle (self-references are reported by `check.rs`
/// and left out here; unknown names are skipped).
pub fn plan(cx: &Ctxt, recipe: &Recipe) -> Plan {
    let n = recipe.columns.len();
    let index = |name: &str| recipe.columns.iter().position(|c| c.name == name);
    let mut deps: Vec<Vec<usize>> = recipe
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut d: Vec<usize> = c
                .references()
                .iter()
                .filter_map(|r| index(&r.name))
                .filter(|&j| j != i)
                .collect();
            d.sort_unstable();
            d.dedup();
            d
        })
        .collect();
    for component in strongly_connected(&deps) {
        if component.len() < 2 {
            continue;
        }
        let start = *component.iter().min().expect("non-empty component");
        let path = shortest_cycle(&deps, start, &component);
        let names: Vec<&str> = path
            .iter()
            .map(|&i| recipe.columns[i].name.as_str())
            .collect();
        let next = &recipe.columns[path[1]].name;
        let column = &recipe.columns[start];
        let reference = column
            .references()
            .into_iter()
            .find(|r| &r.name == next)
            .expect("cycle edge comes from a reference");
        check::report(
            cx,
            &reference,
            format!(
                "cycle between columns: {}; a column cannot depend on itself, \
                 directly or through other columns, so one of these references must go",
                names.join(" -> ")
            ),
        );
        // Break the cycle so later stages see a graph they can order.
        for &i in &component {
            deps[i].retain(|j| !component.contains(j));
        }
    }
    let mut dependents = vec![Vec::new(); n];
    for (i, d) in deps.iter().enumerate() {
        for &j in d {
            dependents[j].push(i);
        }
    }
    Plan { deps, dependents }
}

/// Strongly connected components (Tarjan), each listed once.
fn strongly_connected(deps: &[Vec<usize>]) -> Vec<Vec<usize>> {
    struct State<'a> {
        deps: &'a [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for &w in &s.deps[v] {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            s.out.push(component);
        }
    }
    let n = deps.len();
    let mut s = State {
        deps,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.out
}

/// The shortest path `start -> ... -> start` inside `component` (breadth-first).
fn shortest_cycle(deps: &[Vec<usize>], start: usize, component: &[usize]) -> Vec<usize> {
    let mut parent = vec![None; deps.len()];
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in &deps[v] {
            if !component.contains(&w) {
                continue;
            }
            if w == start {
                // Walk the parents back from `v`, then turn the walk around.
                let mut path = vec![v];
                let mut at = v;
                while at != start {
                    at = parent[at].expect("visited node has a parent");
                    path.push(at);
                }
                path.reverse();
                path.push(start);
                return path;
            }
            if parent[w].is_none() && w != start {
                parent[w] = Some(v);
                queue.push_back(w);
            }
        }
    }
    vec![start, start]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cycle(deps: &[&[usize]], start: usize) -> Vec<usize> {
        let deps: Vec<Vec<usize>> = deps.iter().map(|d| d.to_vec()).collect();
        let all: Vec<usize> = (0..deps.len()).collect();
        shortest_cycle(&deps, start, &all)
    }

    #[test]
    fn two_cycle() {
        assert_eq!(cycle(&[&[1], &[0]], 0), vec![0, 1, 0]);
    }

    #[test]
    fn three_cycle_is_walked_in_dependency_order() {
        // 0 reads 1, 1 reads 2, 2 reads 0
        assert_eq!(cycle(&[&[1], &[2], &[0]], 0), vec![0, 1, 2, 0]);
    }

    #[test]
    fn shortest_cycle_is_chosen() {
        // 0 reads 1 and 3; 1 -> 2 -> 0; 3 -> 0
        assert_eq!(cycle(&[&[1, 3], &[2], &[0], &[0]], 0), vec![0, 3, 0]);
    }

    #[test]
    fn components() {
        let deps = vec![vec![1], vec![0], vec![0], vec![]];
        let mut comps: Vec<Vec<usize>> = strongly_connected(&deps)
            .into_iter()
            .map(|mut c| {
                c.sort();
                c
            })
            .collect();
        comps.sort();
        assert_eq!(comps, vec![vec![0, 1], vec![2], vec![3]]);
    }
}
