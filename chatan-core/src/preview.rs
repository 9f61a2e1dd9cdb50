//! A dry run: the first rows' prompts, rendered from their sampled values without
//! calling any model, so a wrong template is seen before a paid run starts. A value a
//! prompt needs from a generated column shows as a placeholder (`⟨answer⟩`), and a
//! condition that reads one shows every branch it could take.

use std::fmt;

use crate::recipe::{ColumnKind, Piece, Recipe};

/// The prompts a run would send for its first rows; see
/// [`Runner::preview`](crate::Runner::preview). Its `Display` is a readable table.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Preview {
    /// The seed the rows were drawn with (the run's, if it set one).
    pub seed: u64,
    /// One entry per row previewed, in row order.
    pub rows: Vec<PreviewRow>,
}

/// One row of a [`Preview`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PreviewRow {
    /// The row's index.
    pub row: usize,
    /// Each generated column's prompt, in declaration order.
    pub prompts: Vec<PreviewPrompt>,
    /// Why the row could not be drawn (a derived closure failed, say), if it could not;
    /// then `prompts` is empty.
    pub problem: Option<String>,
}

/// The prompt of one generated cell.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PreviewPrompt {
    /// The generated column.
    pub column: &'static str,
    /// The column's system prompt, if it has one.
    pub system: Option<&'static str>,
    /// The prompt, with `⟨column⟩` where a generated value will go.
    pub prompt: String,
    /// Whether the prompt is exactly what will be sent (it has no placeholder).
    pub exact: bool,
}

impl PreviewRow {
    /// The prompt of `column`, if it is a generated column.
    pub fn prompt(&self, column: &str) -> Option<&PreviewPrompt> {
        self.prompts.iter().find(|p| p.column == column)
    }
}

impl fmt::Display for Preview {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .rows
            .iter()
            .flat_map(|r| &r.prompts)
            .map(|p| p.column.chars().count())
            .max()
            .unwrap_or(0);
        writeln!(
            f,
            "preview of {} rows (seed {}):",
            self.rows.len(),
            self.seed
        )?;
        for row in &self.rows {
            writeln!(f, "row {}", row.row)?;
            if let Some(problem) = &row.problem {
                writeln!(f, "  {problem}")?;
            }
            for p in &row.prompts {
                if let Some(system) = p.system {
                    writeln!(f, "  {:width$} │ [system] {system}", "")?;
                }
                let mut lines = p.prompt.lines();
                writeln!(f, "  {:width$} │ {}", p.column, lines.next().unwrap_or(""))?;
                for line in lines {
                    writeln!(f, "  {:width$} │ {line}", "")?;
                }
            }
        }
        Ok(())
    }
}

/// Which columns a row has before any generator is asked: sampled and static ones, and
/// derived ones over those.
fn known_columns<R: Recipe>() -> Vec<bool> {
    let columns = R::SPEC.columns;
    let mut known = vec![false; columns.len()];
    loop {
        let mut changed = false;
        for (i, c) in columns.iter().enumerate() {
            let fillable =
                !matches!(c.kind, ColumnKind::Generated(_)) && c.deps.iter().all(|&d| known[d]);
            if fillable && !known[i] {
                known[i] = true;
                changed = true;
            }
        }
        if !changed {
            return known;
        }
    }
}

/// Renders `pieces` with placeholders for what is not known yet.
fn render<R: Recipe>(
    cells: &R,
    known: &[bool],
    pieces: &[Piece],
    out: &mut String,
    exact: &mut bool,
) {
    let spec = &R::SPEC;
    for piece in pieces {
        match *piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Ref(n) => {
                let column = spec.references[n];
                if known[column] {
                    cells.write_ref(n, out);
                } else {
                    *exact = false;
                    out.push('⟨');
                    out.push_str(spec.columns[column].name);
                    out.push('⟩');
                }
            }
            Piece::If(arms) => {
                // The first arm whose condition is known to hold wins; an arm whose
                // condition is not known yet might, so every arm from it on is shown.
                let mut possible = Vec::new();
                // Whether some arm surely renders (else the chain may render nothing).
                let mut closed = false;
                for arm in arms {
                    match arm.condition {
                        None => {
                            possible.push(arm);
                            closed = true;
                            break;
                        }
                        Some(c) if spec.conditions[c].iter().all(|&col| known[col]) => {
                            if cells.test(c) {
                                possible.push(arm);
                                closed = true;
                                break;
                            }
                        }
                        Some(_) => possible.push(arm),
                    }
                }
                let decided = closed && possible.len() == 1;
                if decided || possible.is_empty() {
                    if let Some(arm) = possible.first() {
                        render(cells, known, arm.body, out, exact);
                    }
                    continue;
                }
                *exact = false;
                let mut deciding: Vec<&str> = Vec::new();
                for arm in &possible {
                    for &col in arm.condition.map_or(&[][..], |c| spec.conditions[c]) {
                        let name = spec.columns[col].name;
                        if !known[col] && !deciding.contains(&name) {
                            deciding.push(name);
                        }
                    }
                }
                out.push_str("⟨depending on ");
                out.push_str(&deciding.join(", "));
                out.push_str(": ");
                let mut branches: Vec<String> = possible
                    .iter()
                    .map(|arm| {
                        let mut branch = String::new();
                        render(cells, known, arm.body, &mut branch, exact);
                        format!("{branch:?}")
                    })
                    .collect();
                if !closed {
                    branches.push("\"\"".to_owned());
                }
                out.push_str(&branches.join(" | "));
                out.push('⟩');
            }
        }
    }
}

/// Previews `rows` rows from row 0 with `seed`.
pub(crate) fn preview<R: Recipe>(samplers: &R::Samplers, seed: u64, rows: usize) -> Preview {
    let spec = &R::SPEC;
    let known = known_columns::<R>();
    let rows = (0..rows)
        .map(
            |row| match crate::engine::draw_row::<R>(row, samplers, seed) {
                Ok(cells) => PreviewRow {
                    row,
                    prompts: spec
                        .columns
                        .iter()
                        .filter_map(|c| match &c.kind {
                            ColumnKind::Generated(g) => {
                                let mut prompt = String::new();
                                let mut exact = true;
                                render(&cells, &known, g.template, &mut prompt, &mut exact);
                                Some(PreviewPrompt {
                                    column: c.name,
                                    system: g.options.system,
                                    prompt,
                                    exact,
                                })
                            }
                            _ => None,
                        })
                        .collect(),
                    problem: None,
                },
                Err((column, cause)) => PreviewRow {
                    row,
                    prompts: Vec::new(),
                    problem: Some(format!(
                        "row {row}, column `{}`: {cause}",
                        spec.columns[column].name
                    )),
                },
            },
        )
        .collect();
    Preview { seed, rows }
}
