import type { ContractFinding, ContractReport } from './check.js';

const ORDER = { breaking: 0, warning: 1, info: 2 } as const;
const LABEL = { breaking: 'BREAKING', warning: 'warning ', info: 'ok      ' } as const;

/** The report as text for a terminal or a CI log: one line per finding, breaking ones first. */
export function formatReport(report: ContractReport): string {
  const breaking = report.findings.filter((f) => f.severity === 'breaking').length;
  const head = report.ok
    ? `contracts of ${report.service}: no breaking change`
    : `contracts of ${report.service}: ${breaking} breaking change${breaking === 1 ? '' : 's'}`;
  const lines = [...report.findings].sort((a, b) => ORDER[a.severity] - ORDER[b.severity]).map(line);
  return [head, ...lines].join('\n');
}

function line(finding: ContractFinding): string {
  const peer = finding.peer ? ` [${finding.peer}]` : '';
  return `  ${LABEL[finding.severity]} ${finding.rule.padEnd(26)} ${finding.event}${peer}: ${finding.message}`;
}
