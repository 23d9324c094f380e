//! A Messages request body turned into a Chat Completions request body, or refused.
//!
//! The body is parsed once into a `serde_json::Value` and then taken apart by value, so the big
//! strings in it (base64 images, long documents of text) are moved into the new body rather than
//! copied; only an image's data URL costs one copy, because it needs a prefix.

use serde_json::{Map, Value};

use super::{ChatRequest, Dialect, Refusal, RequestContext};

/// Chat Completions accepts at most four stop sequences.
const MAX_STOP_SEQUENCES: usize = 4;

/// The refusal for a message's content block that is not an object.
const NOT_AN_OBJECT: &str = "a content block that is not an object";

/// Translates a Messages request into a Chat Completions request for `ctx.target_model`.
pub fn messages_to_chat(request: &[u8], ctx: &RequestContext<'_>) -> Result<ChatRequest, Refusal> {
    if ctx.beta_header {
        return Err(Refusal::untranslatable("beta header `anthropic-beta`"));
    }
    let parsed: Value = serde_json::from_slice(request)
        .map_err(|error| Refusal::invalid(format!("not JSON: {error}")))?;
    let Value::Object(mut body) = parsed else {
        return Err(Refusal::invalid("not a JSON object"));
    };
    // `null` means "not given" in every field the API documents, so drop those first.
    body.retain(|_, value| !value.is_null());
    check_top_level_fields(&body)?;

    let mut chat = Map::new();
    chat.insert("model".into(), Value::String(ctx.target_model.to_owned()));

    let mut messages = Vec::new();
    if let Some(system) = body.remove("system") {
        if let Some(text) = system_text(system)? {
            messages.push(object([
                ("role", Value::from("system")),
                ("content", Value::String(text)),
            ]));
        }
    }
    let Some(Value::Array(input_messages)) = body.remove("messages") else {
        return Err(Refusal::invalid("no `messages` array"));
    };
    if input_messages.is_empty() {
        return Err(Refusal::invalid("an empty `messages` array"));
    }
    let last_is_assistant = input_messages
        .last()
        .and_then(|message| message.get("role"))
        .and_then(Value::as_str)
        == Some("assistant");
    if last_is_assistant {
        return Err(Refusal::untranslatable(
            "assistant prefill (the last message is the assistant's)",
        ));
    }
    for message in input_messages {
        translate_message(message, &mut messages)?;
    }
    chat.insert("messages".into(), Value::Array(messages));

    let max_tokens = match body.remove("max_tokens") {
        Some(Value::Number(number)) => number
            .as_u64()
            .filter(|tokens| *tokens > 0)
            .ok_or_else(|| Refusal::invalid("`max_tokens` is not a positive integer"))?,
        Some(_) => return Err(Refusal::invalid("`max_tokens` is not a number")),
        None => return Err(Refusal::invalid("no `max_tokens`")),
    };
    // OpenAI deprecated `max_tokens` for `max_completion_tokens` (its reasoning models reject the
    // old name); Gemini's endpoint and most compatible servers know only `max_tokens`.
    let max_tokens_field = match ctx.dialect {
        Dialect::OpenAi => "max_completion_tokens",
        Dialect::Gemini | Dialect::Compatible => "max_tokens",
    };
    chat.insert(max_tokens_field.into(), Value::from(max_tokens));

    for name in ["temperature", "top_p"] {
        match body.remove(name) {
            Some(value @ Value::Number(_)) => {
                chat.insert(name.into(), value);
            }
            Some(_) => return Err(Refusal::invalid(format!("`{name}` is not a number"))),
            None => {}
        }
    }

    if let Some(stop) = body.remove("stop_sequences") {
        let Value::Array(stop) = stop else {
            return Err(Refusal::invalid("`stop_sequences` is not an array"));
        };
        if stop.iter().any(|sequence| !sequence.is_string()) {
            return Err(Refusal::invalid("a stop sequence that is not a string"));
        }
        if stop.len() > MAX_STOP_SEQUENCES {
            return Err(Refusal::untranslatable("more than 4 stop sequences"));
        }
        if !stop.is_empty() {
            chat.insert("stop".into(), Value::Array(stop));
        }
    }

    if let Some(metadata) = body.remove("metadata") {
        let user_id = metadata.get("user_id").and_then(Value::as_str);
        // Gemini's compatibility endpoint rejects fields it does not know with a 400 ("Unknown
        // name … Cannot find field"), and its documentation does not list `user`; it is unknown
        // whether it accepts it, so it is left out there. It only labels the request.
        if let (Some(user_id), Dialect::OpenAi | Dialect::Compatible) = (user_id, ctx.dialect) {
            chat.insert("user".into(), Value::String(user_id.to_owned()));
        }
    }

    let tools = match body.remove("tools") {
        Some(Value::Array(tools)) => tools
            .into_iter()
            .map(translate_tool)
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(Refusal::invalid("`tools` is not an array")),
        None => Vec::new(),
    };
    let has_tools = !tools.is_empty();
    if has_tools {
        chat.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = body.remove("tool_choice") {
        translate_tool_choice(&choice, has_tools, &mut chat)?;
    }

    let stream = match body.remove("stream") {
        Some(Value::Bool(stream)) => stream,
        Some(_) => return Err(Refusal::invalid("`stream` is not a boolean")),
        None => false,
    };
    if stream {
        chat.insert("stream".into(), Value::Bool(true));
        // Without this, Chat streams carry no usage at all; with it, a last chunk with empty
        // `choices` carries the totals. OpenAI, Gemini, vLLM and Ollama all honour it.
        chat.insert(
            "stream_options".into(),
            object([("include_usage", Value::Bool(true))]),
        );
    }

    let body = serde_json::to_vec(&Value::Object(chat))
        .map_err(|error| Refusal::invalid(format!("cannot be written back: {error}")))?;
    Ok(ChatRequest { body, stream })
}

/// Refuses any top-level field we do not translate, before any work is done.
fn check_top_level_fields(body: &Map<String, Value>) -> Result<(), Refusal> {
    for (name, value) in body {
        match name.as_str() {
            "model" | "messages" | "system" | "max_tokens" | "metadata" | "stop_sequences"
            | "stream" | "temperature" | "top_p" | "tools" | "tool_choice" => {}
            // Priority capacity is Anthropic's alone; another provider has no such thing, and
            // dropping it changes nothing about the answer.
            "service_tier" => {}
            "thinking" => {
                if value.get("type").and_then(Value::as_str) != Some("disabled") {
                    return Err(Refusal::untranslatable("extended thinking (`thinking`)"));
                }
            }
            // Chat Completions has no top-k sampling; OpenAI rejects the field.
            "top_k" => return Err(Refusal::untranslatable("`top_k`")),
            other => return Err(Refusal::untranslatable(format!("unknown field `{other}`"))),
        }
    }
    Ok(())
}

/// The system prompt as one string; `None` when it is empty.
fn system_text(system: Value) -> Result<Option<String>, Refusal> {
    let text = match system {
        Value::String(text) => text,
        Value::Array(blocks) => {
            let mut texts = Vec::with_capacity(blocks.len());
            for block in blocks {
                let Value::Object(mut block) = block else {
                    return Err(Refusal::invalid("a system block that is not an object"));
                };
                if has(&block, "cache_control") {
                    return Err(Refusal::untranslatable("`cache_control` on a system block"));
                }
                if has_citations(&block) {
                    return Err(Refusal::untranslatable("citations"));
                }
                if block.get("type").and_then(Value::as_str) != Some("text") {
                    return Err(Refusal::invalid("a system block that is not text"));
                }
                match block.remove("text") {
                    Some(Value::String(text)) => texts.push(text),
                    _ => return Err(Refusal::invalid("a system text block without `text`")),
                }
            }
            // Blocks of one system prompt are consecutive parts of one text; a line break keeps
            // a block that ends mid-sentence from running into the next word.
            texts.join("\n")
        }
        _ => {
            return Err(Refusal::invalid(
                "`system` is neither a string nor an array",
            ))
        }
    };
    Ok(Some(text).filter(|text| !text.is_empty()))
}

/// Appends the Chat messages for one Messages message (a user message with tool results
/// becomes several).
fn translate_message(message: Value, out: &mut Vec<Value>) -> Result<(), Refusal> {
    let Value::Object(mut message) = message else {
        return Err(Refusal::invalid("a message that is not an object"));
    };
    let role = match message.get("role").and_then(Value::as_str) {
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        _ => {
            return Err(Refusal::invalid(
                "a message whose role is not user or assistant",
            ))
        }
    };
    match (role, message.remove("content")) {
        (_, Some(Value::String(text))) => {
            out.push(object([
                ("role", Value::from(role.name())),
                ("content", Value::String(text)),
            ]));
            Ok(())
        }
        (_, Some(Value::Array(blocks))) if blocks.is_empty() => {
            Err(Refusal::invalid("a message with an empty content array"))
        }
        (Role::User, Some(Value::Array(blocks))) => translate_user_blocks(blocks, out),
        (Role::Assistant, Some(Value::Array(blocks))) => {
            out.push(translate_assistant_blocks(blocks)?);
            Ok(())
        }
        _ => Err(Refusal::invalid(
            "a message without string or array `content`",
        )),
    }
}

#[derive(Debug, Clone, Copy)]
enum Role {
    User,
    Assistant,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

fn translate_user_blocks(blocks: Vec<Value>, out: &mut Vec<Value>) -> Result<(), Refusal> {
    let mut parts = Vec::new();
    for block in blocks {
        let (mut block, kind) = content_block(block, NOT_AN_OBJECT)?;
        match kind.as_str() {
            "text" => parts.push(text_part(take_text(&mut block)?)),
            "image" => parts.push(image_part(&mut block)?),
            // Chat carries a tool's result as its own `tool` message, and the provider expects
            // it right after the assistant's call, so it goes before the user's other parts.
            "tool_result" => out.push(tool_message(block)?),
            other => return Err(refuse_block(other)),
        }
    }
    let content = match parts.len() {
        0 => return Ok(()),
        1 if parts[0].get("type").and_then(Value::as_str) == Some("text") => {
            // A lone text part is sent as a plain string, the form every server understands.
            match parts
                .pop()
                .and_then(|mut part| part.get_mut("text").map(Value::take))
            {
                Some(text) => text,
                None => return Err(Refusal::invalid("a text block without `text`")),
            }
        }
        _ => Value::Array(parts),
    };
    out.push(object([
        ("role", Value::from("user")),
        ("content", content),
    ]));
    Ok(())
}

fn translate_assistant_blocks(blocks: Vec<Value>) -> Result<Value, Refusal> {
    let mut texts = Vec::new();
    let mut tool_calls = Vec::new();
    for block in blocks {
        let (mut block, kind) = content_block(block, NOT_AN_OBJECT)?;
        match kind.as_str() {
            "text" => texts.push(take_text(&mut block)?),
            "tool_use" => {
                let id = take_string(&mut block, "id", "a `tool_use` block without `id`")?;
                let name = take_string(&mut block, "name", "a `tool_use` block without `name`")?;
                let input = block
                    .remove("input")
                    .unwrap_or_else(|| Value::Object(Map::new()));
                let arguments = serde_json::to_string(&input)
                    .map_err(|error| Refusal::invalid(format!("unwritable tool input: {error}")))?;
                tool_calls.push(object([
                    ("id", Value::String(id)),
                    ("type", Value::from("function")),
                    (
                        "function",
                        object([
                            ("name", Value::String(name)),
                            ("arguments", Value::String(arguments)),
                        ]),
                    ),
                ]));
            }
            other => return Err(refuse_block(other)),
        }
    }
    let mut message = Map::new();
    message.insert("role".into(), Value::from("assistant"));
    // Chat wants `content: null`, not "", for an assistant turn that only calls tools.
    let content = if texts.is_empty() {
        Value::Null
    } else {
        Value::String(texts.join("\n"))
    };
    message.insert("content".into(), content);
    if !tool_calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(tool_calls));
    }
    Ok(Value::Object(message))
}

/// A `tool_result` block as a Chat `tool` message.
fn tool_message(mut block: Map<String, Value>) -> Result<Value, Refusal> {
    // Chat has no way to mark a tool's answer as a failure; sending it as a success would
    // change its meaning.
    if block.get("is_error").and_then(Value::as_bool) == Some(true) {
        return Err(Refusal::untranslatable("`is_error` on a tool_result"));
    }
    let id = take_string(
        &mut block,
        "tool_use_id",
        "a `tool_result` without `tool_use_id`",
    )?;
    let content = match block.remove("content") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text,
        Some(Value::Array(blocks)) => {
            let mut texts = Vec::with_capacity(blocks.len());
            for inner in blocks {
                let (mut inner, kind) =
                    content_block(inner, "a tool_result block that is not an object")?;
                match kind.as_str() {
                    "text" => texts.push(take_text(&mut inner)?),
                    // Chat's tool messages carry text only.
                    "image" => {
                        return Err(Refusal::untranslatable("an image inside a tool_result"))
                    }
                    other => {
                        return Err(Refusal::untranslatable(format!(
                            "a `{other}` block inside a tool_result"
                        )))
                    }
                }
            }
            texts.join("\n")
        }
        Some(_) => {
            return Err(Refusal::invalid(
                "a tool_result whose content is not readable",
            ))
        }
    };
    Ok(object([
        ("role", Value::from("tool")),
        ("tool_call_id", Value::String(id)),
        ("content", Value::String(content)),
    ]))
}

fn image_part(block: &mut Map<String, Value>) -> Result<Value, Refusal> {
    let Some(Value::Object(mut source)) = block.remove("source") else {
        return Err(Refusal::invalid("an image without `source`"));
    };
    let url = match source.get("type").and_then(Value::as_str) {
        Some("base64") => {
            let media_type = take_string(
                &mut source,
                "media_type",
                "a base64 image without `media_type`",
            )?;
            let data = take_string(&mut source, "data", "a base64 image without `data`")?;
            let mut url = String::with_capacity(media_type.len() + data.len() + 13);
            url.push_str("data:");
            url.push_str(&media_type);
            url.push_str(";base64,");
            url.push_str(&data);
            url
        }
        Some("url") => take_string(&mut source, "url", "a url image without `url`")?,
        Some("file") => {
            return Err(Refusal::untranslatable(
                "an image from the Files API (`source.type` `file`)",
            ))
        }
        _ => return Err(Refusal::invalid("an image with an unknown `source.type`")),
    };
    Ok(object([
        ("type", Value::from("image_url")),
        ("image_url", object([("url", Value::String(url))])),
    ]))
}

fn translate_tool(tool: Value) -> Result<Value, Refusal> {
    let Value::Object(mut tool) = tool else {
        return Err(Refusal::invalid("a tool that is not an object"));
    };
    tool.retain(|_, value| !value.is_null());
    match tool.get("type").and_then(Value::as_str) {
        None | Some("custom") => {}
        // Anthropic-defined tools (web search, bash, the text editor, computer use, code
        // execution, …) run on Anthropic's side or follow a schema only Claude is trained on.
        Some(other) => return Err(Refusal::untranslatable(format!("server tool `{other}`"))),
    }
    if has(&tool, "cache_control") {
        return Err(Refusal::untranslatable("`cache_control` on a tool"));
    }
    for name in tool.keys() {
        if !matches!(
            name.as_str(),
            "type" | "name" | "description" | "input_schema"
        ) {
            return Err(Refusal::untranslatable(format!(
                "unknown tool field `{name}`"
            )));
        }
    }
    let name = take_string(&mut tool, "name", "a tool without `name`")?;
    let Some(schema @ Value::Object(_)) = tool.remove("input_schema") else {
        return Err(Refusal::invalid("a tool without an `input_schema` object"));
    };
    let mut function = Map::new();
    function.insert("name".into(), Value::String(name));
    match tool.remove("description") {
        Some(Value::String(description)) => {
            function.insert("description".into(), Value::String(description));
        }
        Some(_) => return Err(Refusal::invalid("a tool description that is not a string")),
        None => {}
    }
    function.insert("parameters".into(), schema);
    Ok(object([
        ("type", Value::from("function")),
        ("function", Value::Object(function)),
    ]))
}

fn translate_tool_choice(
    choice: &Value,
    has_tools: bool,
    chat: &mut Map<String, Value>,
) -> Result<(), Refusal> {
    let kind = choice.get("type").and_then(Value::as_str);
    let translated = match kind {
        Some("auto") => Value::from("auto"),
        Some("any") => Value::from("required"),
        Some("none") => Value::from("none"),
        Some("tool") => {
            let Some(name) = choice.get("name").and_then(Value::as_str) else {
                return Err(Refusal::invalid("a `tool` tool_choice without `name`"));
            };
            object([
                ("type", Value::from("function")),
                ("function", object([("name", Value::from(name))])),
            ])
        }
        _ => return Err(Refusal::invalid("a tool_choice of unknown type")),
    };
    if !has_tools {
        // Chat rejects `tool_choice` without `tools`. Without tools, "auto" and "none" mean the
        // same as no choice; "any" and "tool" name something that is not there.
        return match kind {
            Some("auto" | "none") => Ok(()),
            _ => Err(Refusal::invalid(
                "a tool_choice that requires a tool, without tools",
            )),
        };
    }
    chat.insert("tool_choice".into(), translated);
    if choice
        .get("disable_parallel_tool_use")
        .and_then(Value::as_bool)
        == Some(true)
    {
        // Gemini's endpoint once rejected this field (jackmpcollins/magentic#382) but accepts
        // it now; without it the model could answer with several calls the client forbade.
        chat.insert("parallel_tool_calls".into(), Value::Bool(false));
    }
    Ok(())
}

/// A message's content block as an object, with its type, once what no block may carry is
/// refused; the user's, the assistant's and a tool_result's blocks all pass through here first.
fn content_block(
    block: Value,
    not_object: &'static str,
) -> Result<(Map<String, Value>, String), Refusal> {
    let Value::Object(block) = block else {
        return Err(Refusal::invalid(not_object));
    };
    check_common_block_fields(&block)?;
    let kind = block_type(&block)?;
    Ok((block, kind))
}

/// Refuses what no content block may carry here, whatever its type.
fn check_common_block_fields(block: &Map<String, Value>) -> Result<(), Refusal> {
    if has(block, "cache_control") {
        return Err(Refusal::untranslatable(
            "`cache_control` on a content block",
        ));
    }
    if has_citations(block) {
        return Err(Refusal::untranslatable("citations"));
    }
    Ok(())
}

fn refuse_block(kind: &str) -> Refusal {
    match kind {
        "thinking" | "redacted_thinking" => {
            Refusal::untranslatable(format!("extended thinking (a `{kind}` block)"))
        }
        "server_tool_use" | "mcp_tool_use" | "mcp_tool_result" => {
            Refusal::untranslatable(format!("server tool (a `{kind}` block)"))
        }
        kind if kind.ends_with("_tool_result") => {
            Refusal::untranslatable(format!("server tool (a `{kind}` block)"))
        }
        kind => Refusal::untranslatable(format!("a `{kind}` block")),
    }
}

fn block_type(block: &Map<String, Value>) -> Result<String, Refusal> {
    match block.get("type").and_then(Value::as_str) {
        Some(kind) => Ok(kind.to_owned()),
        None => Err(Refusal::invalid("a content block without `type`")),
    }
}

fn take_text(block: &mut Map<String, Value>) -> Result<String, Refusal> {
    take_string(block, "text", "a text block without `text`")
}

fn take_string(
    map: &mut Map<String, Value>,
    name: &str,
    missing: &'static str,
) -> Result<String, Refusal> {
    match map.remove(name) {
        Some(Value::String(text)) => Ok(text),
        _ => Err(Refusal::invalid(missing)),
    }
}

fn text_part(text: String) -> Value {
    object([("type", Value::from("text")), ("text", Value::String(text))])
}

/// A present, non-null field.
fn has(map: &Map<String, Value>, name: &str) -> bool {
    map.get(name).is_some_and(|value| !value.is_null())
}

/// Citations asked for or carried: a non-empty `citations` array, or `{"enabled": true}`.
fn has_citations(block: &Map<String, Value>) -> bool {
    match block.get("citations") {
        None | Some(Value::Null) => false,
        Some(Value::Array(citations)) => !citations.is_empty(),
        Some(Value::Object(config)) => {
            config.get("enabled").and_then(Value::as_bool) != Some(false)
        }
        Some(_) => true,
    }
}

fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Object(
        fields
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect(),
    )
}
