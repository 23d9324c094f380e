// A stand-in for the Tauri shell, installed in the page before it loads (Playwright:
// `page.addInitScript(installMockIpc, responses)`). It answers commands from a table and can emit
// events, the way `@tauri-apps/api/mocks` does, but self-contained so it can be serialised into
// the page. The function must not use anything from outside its own body.
//
// Responses are keyed "command" or "command:argument" (get_history:24h, get_incident:<id>,
// get_probe_series:24h:<model> when a model is asked for); a
// value `{ __ipc_error: { kind, message } }` makes the command reject with that IpcError. The page
// sees `window.__TAURI_INTERNALS__`; the test drives `window.__mockIpc`:
//   __mockIpc.calls                 every [command, args] the page invoked, in order
//   __mockIpc.emit(event, payload)  delivers an event (snapshot-changed, open-incident)
//   __mockIpc.responses[key] = v    changes an answer from now on
// Without an answer of their own, set_settings echoes the settings sent, and set_api_key and
// set_admin_key answer (and from then on keep) get_settings with the key's new state.

export interface MockIpc {
  calls: Array<[string, Record<string, unknown> | undefined]>;
  responses: Record<string, unknown>;
  emit(event: string, payload: unknown): void;
}

export function installMockIpc(responses: Record<string, unknown>): void {
  type Callback = (data: unknown) => void;
  const callbacks = new Map<number, Callback>();
  const listeners = new Map<string, number[]>();
  let nextId = 1;
  const calls: MockIpc["calls"] = [];

  const transformCallback = (callback: Callback, once = false): number => {
    const id = nextId++;
    callbacks.set(id, (data) => {
      if (once) callbacks.delete(id);
      callback(data);
    });
    return id;
  };

  const keyArgument = (args: Record<string, unknown> | undefined): string | null => {
    if (!args) return null;
    for (const name of ["range", "id", "limit"]) {
      if (name in args) {
        // A model narrows the answer (get_probe_series:24h:claude-sonnet-4-6); without one, or
        // with null, the key is the range alone, as the API-wide series.
        const model = args.model;
        return model === undefined || model === null ? String(args[name]) : `${String(args[name])}:${String(model)}`;
      }
    }
    return null;
  };

  const invoke = async (cmd: string, args?: Record<string, unknown>): Promise<unknown> => {
    if (cmd === "plugin:event|listen") {
      const event = String(args?.event);
      const handler = Number(args?.handler);
      listeners.set(event, [...(listeners.get(event) ?? []), handler]);
      return handler;
    }
    if (cmd === "plugin:event|unlisten") {
      const event = String(args?.event);
      listeners.set(event, (listeners.get(event) ?? []).filter((id) => id !== Number(args?.eventId)));
      return null;
    }
    calls.push([cmd, args]);
    const argument = keyArgument(args);
    const table = mock.responses;
    let answer: unknown;
    if (argument !== null && `${cmd}:${argument}` in table) answer = table[`${cmd}:${argument}`];
    else if (cmd in table) answer = table[cmd];
    else if (cmd === "set_settings" && table.get_settings) {
      answer = { ...(table.get_settings as object), settings: args?.settings };
    } else if (cmd === "set_api_key" && table.get_settings) {
      // Like the shell, later answers (get_settings, set_settings) know the key is there.
      const configured = args?.key !== null;
      answer = { ...(table.get_settings as object), api_key_configured: configured, api_key_source: configured ? "keychain" : "none" };
      table.get_settings = answer;
    } else if (cmd === "set_admin_key" && table.get_settings) {
      answer = { ...(table.get_settings as object), admin_key_configured: args?.key !== null };
      table.get_settings = answer;
    } else if (cmd === "get_incident") answer = null;
    else throw { kind: "not_mocked", message: `no mock answer for ${cmd}` };
    if (answer && typeof answer === "object" && "__ipc_error" in answer) {
      throw (answer as { __ipc_error: unknown }).__ipc_error;
    }
    // A copy, so the page never shares objects with the test.
    return answer === undefined ? null : JSON.parse(JSON.stringify(answer));
  };

  const mock: MockIpc = {
    calls,
    responses: { ...responses },
    emit(event, payload) {
      for (const id of listeners.get(event) ?? []) {
        callbacks.get(id)?.({ event, id, payload });
      }
    },
  };

  const w = window as unknown as Record<string, unknown>;
  w.__TAURI_INTERNALS__ = {
    invoke,
    transformCallback,
    unregisterCallback: (id: number) => callbacks.delete(id),
    runCallback: (id: number, data: unknown) => callbacks.get(id)?.(data),
    callbacks,
    metadata: { currentWindow: { label: "dashboard" }, currentWebview: { windowLabel: "dashboard", label: "dashboard" } },
  };
  w.__TAURI_EVENT_PLUGIN_INTERNALS__ = { unregisterListener: () => undefined };
  w.__mockIpc = mock;
}
