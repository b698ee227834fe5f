// The policylang extension: highlighting comes from syntaxes/; everything else from the language
// server, `policylang lsp`, which this starts over stdio (docs/editors.md).
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const settings = vscode.workspace.getConfiguration("policylang.server");
  const server = {
    command: settings.get("command", "policylang"),
    args: settings.get("args", ["lsp"]),
    transport: TransportKind.stdio,
  };
  client = new LanguageClient(
    "policylang",
    "policylang language server",
    { run: server, debug: server },
    {
      documentSelector: [{ scheme: "file", language: "policy" }],
      synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/*.policy") },
    }
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
