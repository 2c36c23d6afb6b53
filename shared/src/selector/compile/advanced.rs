//! Advanced event selectors (`AdvancedEventSelectors`): field conditions with CloudTrail's
//! operators, limits and allowed values.

use super::compiled::*;
use crate::selector::error::SelectorError;
use crate::selector::model::{AdvancedEventSelector, AdvancedFieldSelector};

pub(super) fn compile_advanced(
    selectors: &[AdvancedEventSelector],
) -> Result<Vec<CompiledAdvanced>, SelectorError> {
    let mut total_values = 0;
    let compiled = selectors
        .iter()
        .enumerate()
        .map(|(index, selector)| {
            let at = || {
                Some(match &selector.name {
                    Some(name) => format!("AdvancedEventSelectors[{index}] ({name:?})"),
                    None => format!("AdvancedEventSelectors[{index}]"),
                })
            };
            if selector
                .name
                .as_ref()
                .is_some_and(|name| name.chars().count() > MAX_NAME_CHARS)
            {
                return Err(SelectorError::new(
                    at(),
                    None,
                    format!("Name is longer than {MAX_NAME_CHARS} characters"),
                ));
            }
            if selector.field_selectors.is_empty() {
                return Err(SelectorError::new(
                    at(),
                    None,
                    "has no FieldSelectors".to_owned(),
                ));
            }
            let mut compiled = CompiledAdvanced {
                resource_types: Vec::new(),
                conditions: Vec::new(),
            };
            for field_selector in &selector.field_selectors {
                for condition in compile_field(field_selector)
                    .map_err(|(field, reason)| SelectorError::new(at(), field, reason))?
                {
                    total_values += condition.values.len();
                    if condition.field == Field::ResourcesType {
                        compiled.resource_types.push(condition);
                    } else {
                        compiled.conditions.push(condition);
                    }
                }
            }
            Ok(compiled)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if total_values > MAX_ADVANCED_VALUES {
        return Err(SelectorError::new(
            None,
            None,
            format!(
                "has {total_values} values across AdvancedEventSelectors; CloudTrail allows at most {MAX_ADVANCED_VALUES}"
            ),
        ));
    }
    Ok(compiled)
}

type FieldError = (Option<&'static str>, String);

fn compile_field(selector: &AdvancedFieldSelector) -> Result<Vec<Condition>, FieldError> {
    let field = Field::parse(&selector.field).ok_or_else(|| {
        let known: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
        (
            None,
            format!(
                "field {:?} is not one of {}",
                selector.field,
                known.join(", ")
            ),
        )
    })?;
    let name = Some(field.name());
    let operators = [
        (Op::Equals, &selector.equals),
        (Op::StartsWith, &selector.starts_with),
        (Op::EndsWith, &selector.ends_with),
        (Op::NotEquals, &selector.not_equals),
        (Op::NotStartsWith, &selector.not_starts_with),
        (Op::NotEndsWith, &selector.not_ends_with),
    ];
    let mut conditions = Vec::new();
    for (op, values) in operators {
        let Some(values) = values else { continue };
        check_values(field, op, values).map_err(|reason| (name, reason))?;
        conditions.push(Condition {
            field,
            op,
            values: values.iter().map(|v| v.as_str().into()).collect(),
        });
    }
    if conditions.is_empty() {
        return Err((name, "has no operator (Equals, StartsWith, EndsWith, NotEquals, NotStartsWith or NotEndsWith)".to_owned()));
    }
    Ok(conditions)
}

/// Whether `field` takes `op` with these `values`: why not, when it does not.
fn check_values(field: Field, op: Op, values: &[String]) -> Result<(), String> {
    if !field.allows(op) {
        let allowed: Vec<&str> = Op::ALL
            .into_iter()
            .filter(|&o| field.allows(o))
            .map(Op::name)
            .collect();
        return Err(format!(
            "operator {} is not allowed; {} takes only {}",
            op.name(),
            field.name(),
            allowed.join(", ")
        ));
    }
    if values.is_empty() {
        return Err(format!("{} has an empty value list", op.name()));
    }
    for value in values {
        if value.is_empty() || value.chars().count() > MAX_VALUE_CHARS {
            return Err(format!(
                "{} value of {} characters; values are 1 to {MAX_VALUE_CHARS}",
                op.name(),
                value.chars().count()
            ));
        }
        if let Some(allowed) = field.allowed_values()
            && !allowed.contains(&value.as_str())
        {
            return Err(format!("{value:?} is not one of {}", allowed.join(", ")));
        }
    }
    Ok(())
}
