/** Radix tabs with the app's look: arrow keys move between tabs, as WAI-ARIA expects. */
import * as RTabs from "@radix-ui/react-tabs";
import type { ReactNode } from "react";

export function Tabs(props: { label: string; value: string; onValueChange: (v: string) => void; tabs: { value: string; label: string; content: ReactNode }[]; className?: string }) {
  return (
    <RTabs.Root value={props.value} onValueChange={props.onValueChange} className={"flex h-full min-h-0 flex-col " + (props.className ?? "")}>
      <RTabs.List aria-label={props.label} className="flex shrink-0 gap-1 border-b border-zinc-200 px-2 dark:border-zinc-700">
        {props.tabs.map((tab) => (
          <RTabs.Trigger
            key={tab.value}
            value={tab.value}
            className="border-b-2 border-transparent px-3 py-2 text-sm text-zinc-600 hover:text-zinc-900 focus-visible:outline-2 focus-visible:outline-sky-500 data-[state=active]:border-emerald-600 data-[state=active]:text-zinc-900 dark:text-zinc-400 dark:hover:text-zinc-100 dark:data-[state=active]:text-zinc-100"
          >
            {tab.label}
          </RTabs.Trigger>
        ))}
      </RTabs.List>
      {props.tabs.map((tab) => (
        <RTabs.Content key={tab.value} value={tab.value} className="min-h-0 flex-1 overflow-auto focus-visible:outline-none">
          {tab.content}
        </RTabs.Content>
      ))}
    </RTabs.Root>
  );
}
