import { ObjectId } from 'mongodb';
import { Rng } from './rng.js';
import type { DayPlan } from './plan.js';

/** An ObjectId whose timestamp is `at` and whose other 8 bytes come from `rng` (deterministic). */
export function objectIdAt(rng: Rng, at: number): ObjectId {
  const b = Buffer.alloc(12);
  b.writeUInt32BE(Math.floor(at / 1000) >>> 0, 0);
  rng.bytes(8).copy(b, 4);
  return new ObjectId(b);
}

const FIRST = ['Alice', 'Ben', 'Chloe', 'Daniel', 'Emily', 'Felix', 'Grace', 'Henry', 'Ivy', 'Jason', 'Kelly', 'Leo', 'Mandy', 'Nathan', 'Olivia', 'Peter', 'Queenie', 'Ryan', 'Sophie', 'Tommy', 'Una', 'Victor', 'Wing', 'Yan'] as const;
const LAST = ['Chan', 'Wong', 'Lee', 'Cheung', 'Lau', 'Ng', 'Ho', 'Tam', 'Leung', 'Yip', 'Smith', 'Tan', 'Lim', 'Garcia', 'Santos', 'Kim'] as const;
const COMPANIES = ['Acme Trading Ltd', 'Harbour Logistics', 'Jade Dragon Foods', 'Pacific Insurance', 'Kowloon Motors', 'Blue Sky Travel', 'Orchid Clinic', 'Summit Realty'] as const;
const DEPARTMENTS = ['Customer Service', 'Sales', 'Technical Support', 'Billing', 'Operations'] as const;
export const TAG_NAMES = ['vip', 'complaint', 'billing', 'sales-lead', 'technical', 'refund', 'follow-up', 'spam'] as const;

export type StaffRole = 'admin' | 'supervisor' | 'agent';
export type StaffStatus = 'active' | 'inactive' | 'suspended';

export interface StaffDoc {
  _id: ObjectId;
  staffId: string;
  displayName: string;
  email: string;
  extension: string;
  department: string;
  role: StaffRole;
  status: StaffStatus;
  createdAt: Date;
  updatedAt: Date;
}

export interface ContactDoc {
  _id: ObjectId;
  contactId: string;
  name: string;
  company: string;
  phones: { label: 'mobile' | 'work' | 'home'; number: string }[];
  emails: string[];
  tags: string[];
  createdAt: Date;
  updatedAt: Date;
}

const YEAR_MS = 365 * 24 * 3600 * 1000;

function phoneNumber(rng: Rng): string {
  return `+852${rng.int(5, 9)}${String(rng.int(0, 9_999_999)).padStart(7, '0')}`;
}

/** Staff member `i` of the service (same on every day of one seed; `updatedAt` may move). */
export function staffAt(plan: DayPlan, i: number): StaffDoc {
  const rng = Rng.of(plan.serviceSeed, 'staff', i);
  const first = rng.pick(FIRST);
  const last = rng.pick(LAST);
  const createdAt = plan.serviceEpoch - YEAR_MS + Math.floor(rng.next() * YEAR_MS * 0.9);
  const id = objectIdAt(rng, createdAt);
  const staffId = rng.uuid();
  const role: StaffRole = i === 0 ? 'admin' : rng.weighted([['supervisor', 15], ['agent', 85]] as const);
  const status: StaffStatus = i === 0 ? 'active' : rng.weighted([['active', 90], ['inactive', 7], ['suspended', 3]] as const);
  const touched = Rng.of(plan.daySeed, 'staff-touch', i).bool(0.1);
  return {
    _id: id,
    staffId,
    displayName: `${first} ${last}`,
    email: `${first}.${last}.${i}@example.com`.toLowerCase(),
    extension: String(1000 + i),
    department: rng.pick(DEPARTMENTS),
    role,
    status,
    createdAt: new Date(createdAt),
    updatedAt: new Date(touched ? plan.periodStart + 3600_000 : createdAt + 86_400_000),
  };
}

/** External contact `i` of the service's dynamic phonebook. */
export function contactAt(plan: DayPlan, i: number): ContactDoc {
  const rng = Rng.of(plan.serviceSeed, 'contact', i);
  const first = rng.pick(FIRST);
  const last = rng.pick(LAST);
  const createdAt = plan.serviceEpoch - YEAR_MS + Math.floor(rng.next() * YEAR_MS * 0.95);
  const id = objectIdAt(rng, createdAt);
  const contactId = rng.uuid();
  const phones: ContactDoc['phones'] = [{ label: 'mobile', number: phoneNumber(rng) }];
  if (rng.bool(0.3)) phones.push({ label: rng.pick(['work', 'home'] as const), number: phoneNumber(rng) });
  const emails = [`${first}.${last}${i}@mail.example.net`.toLowerCase()];
  if (rng.bool(0.2)) emails.push(`${first[0] ?? 'x'}${last}${i}@work.example.org`.toLowerCase());
  const tags = TAG_NAMES.filter(() => rng.bool(0.12));
  return {
    _id: id,
    contactId,
    name: `${first} ${last}`,
    company: rng.pick(COMPANIES),
    phones,
    emails,
    tags,
    createdAt: new Date(createdAt),
    updatedAt: new Date(createdAt + Math.floor(rng.next() * 30 * 86_400_000)),
  };
}

/** Identity fields only (cheap enough for cross-references). */
export interface PersonRef {
  readonly kind: 'staff' | 'contact';
  readonly id: string;
  readonly name: string;
  readonly number: string;
}

export function staffRef(plan: DayPlan, i: number): PersonRef {
  const s = staffAt(plan, i);
  return { kind: 'staff', id: s.staffId, name: s.displayName, number: s.extension };
}

export function contactRef(plan: DayPlan, i: number): PersonRef {
  const c = contactAt(plan, i);
  return { kind: 'contact', id: c.contactId, name: c.name, number: c.phones[0]?.number ?? '' };
}
